"""In a real headless Chromium against `python app.py`: upload a PDF, ask about its page 2, open
the citation and see the rendered page with the passage highlighted. The screenshot goes to
test-output/screenshots/ for a person to look at."""

from __future__ import annotations

import base64
import io

import pytest

from support import documents as files
from support.app_browser import ANSWER_DONE_JS, SCREENSHOTS, launch, needs_chromium
from support.app_server import running_app

ANSWER_TIMEOUT_MS = 120_000
QUESTION = "How often does the lighthouse of Suederoog flash?"

pytestmark = needs_chromium


def tinted_share(png: bytes, box: tuple[int, int, int, int] | None = None) -> float:
    """Share of the pixels (in ``box``) in the highlight colours: much more red than blue."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if box:
        image = image.crop(box)
    import numpy as np

    pixels = np.asarray(image, dtype=np.int16)
    return float(np.mean(pixels[..., 0] - pixels[..., 2] > 40))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app_pdf")) as server:
        yield server


@pytest.fixture
def page(app):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        foreign: list[str] = []

        def only_the_app(route):
            url = route.request.url
            if url.startswith(app.url) or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                foreign.append(url)
                route.abort()

        context.route("**/*", only_the_app)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(60_000)
        page.goto(app.url)
        page.wait_for_selector("#question textarea", state="visible")
        yield page
        assert not errors and not foreign, (errors, foreign)
        assert "Traceback" not in page.content()
        browser.close()


def test_upload_a_pdf_ask_about_page_2_and_see_the_passage_highlighted_on_the_page(page, tmp_path):
    pdf = files.make_report_pdf(tmp_path / "harbour-report.pdf")

    upload = page.locator("#uploads input[type=file]")
    assert ".pdf" in (upload.get_attribute("accept") or "")
    upload.set_input_files(str(pdf))
    page.wait_for_timeout(1000)
    page.click("#add")
    page.wait_for_function(
        "() => document.querySelector('#library table.library').innerText.includes('harbour-report.pdf')",
        timeout=ANSWER_TIMEOUT_MS,
    )
    assert "4 documents" in page.locator("#status").inner_text()

    before = page.locator('#chat [data-testid="bot"]').count()
    page.fill("#question textarea", QUESTION)
    page.click("#ask")
    page.wait_for_function(ANSWER_DONE_JS, arg=before, timeout=ANSWER_TIMEOUT_MS)
    answer = page.locator('#chat [data-testid="bot"]').last.inner_text()
    assert "nine seconds" in answer, answer

    card = page.locator("#sources section:not([hidden]) .citation", has_text="harbour-report.pdf").first
    meta = card.locator(".citation-meta").inner_text()
    assert "harbour-report.pdf · page " in meta and "2" in meta.split("page ")[1].split(" ")[0], meta
    card.locator(".page-view summary").click()
    image = card.locator('.page-view img[data-page="2"]')
    image.wait_for(state="visible")
    image.scroll_into_view_if_needed()
    assert image.evaluate("img => img.complete && img.naturalWidth > 500")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "pdf-citation-page-2.png"
    image.screenshot(path=str(shot))
    page.screenshot(path=str(SCREENSHOTS / "pdf-citation-page-2-app.png"), full_page=True)

    src = image.get_attribute("src")
    png = base64.b64decode(src.split(",", 1)[1])
    # The lighthouse sentence is the first line of page 2 (y 760 pt of 842, x from 60 pt; scale 1.4):
    first_line = (int(55 * 1.4), int((842 - 760 - 12) * 1.4), int(520 * 1.4), int((842 - 760 + 4) * 1.4))
    assert tinted_share(png, first_line) > 0.3
    # and what the browser shows is that picture: the screenshot has the highlight too
    assert tinted_share(shot.read_bytes()) > 0.005
