"""The chat app in a real headless Chromium (Playwright, sync API), against `python app.py`.

Screenshots of every step go to test-output/screenshots/ (git-ignored) for a human to look at.
The browser may only talk to the app: any other request is aborted and fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.paths import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "test-output" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}
ANSWER_TIMEOUT_MS = 90_000  # the first question loads the model; answers then take ~0.1-2 s

QUESTION = "Why did Clark lose his powers?"
FOLLOW_UP = "Who took them from him?"
OTHER_QUESTION = "Who is Morgan Edge?"
SOURCE_FILE = re.compile(r"\b00\d_[0-9a-f]+\.txt\b")

BOT = '#chat [data-testid="bot"]'
USER = '#chat [data-testid="user"]'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium package (the project's setup does)",
    ),
]

# True when the last answer is complete: a new assistant message that is not the "…" placeholder,
# and no progress indicator left on the chat, the sources panel or the "Searched for" note.
ANSWER_DONE_JS = """(before) => {
  const bots = document.querySelectorAll('#chat [data-testid="bot"]');
  if (bots.length <= before) return false;
  const last = bots[bots.length - 1].innerText.trim();
  if (!last || last === '\u2026') return false;
  const trackers = document.querySelectorAll(
    '#chat [data-testid="status-tracker"], #sources [data-testid="status-tracker"], ' +
    '#searched [data-testid="status-tracker"]');
  return [...trackers].every(t => t.classList.contains('hide'));
}"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Tab:
    """One browser tab on the app, with what went wrong in it (JS errors, foreign requests)."""

    def __init__(self, page, url: str):
        self.page = page
        self.url = url
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.set_default_timeout(30_000)

    def load(self) -> Tab:
        self.page.goto(self.url)
        self.page.wait_for_selector("#question textarea", state="visible")
        self.page.wait_for_selector("#ask", state="visible")
        return self

    def bots(self):
        return self.page.locator(BOT)

    def submit(self, question: str) -> int:
        """Type the question and click Ask; returns the number of assistant messages before."""
        before = self.bots().count()
        self.page.fill("#question textarea", question)
        self.page.click("#ask")
        return before

    def wait_for_answer(self, before: int):
        self.page.wait_for_function(ANSWER_DONE_JS, arg=before, timeout=ANSWER_TIMEOUT_MS)
        return self.bots().nth(self.bots().count() - 1)

    def ask(self, question: str):
        """Ask and wait for the complete answer; returns the locator of the new assistant message."""
        return self.wait_for_answer(self.submit(question))

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def assert_healthy(self) -> None:
        assert not self.errors, self.errors
        assert "Traceback" not in self.page.content()


@pytest.fixture
def context(browser, app_server):
    context = browser.new_context(viewport=VIEWPORT)
    foreign: list[str] = []

    def only_the_app(route):
        url = route.request.url
        if url.startswith(app_server.url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    context.route("**/*", only_the_app)
    yield context
    context.close()
    assert not foreign, f"the page tried to reach other hosts: {foreign}"


@pytest.fixture
def tab(context, app_server) -> Iterator[Tab]:
    tab = Tab(context.new_page(), app_server.url).load()
    yield tab
    tab.assert_healthy()


def marker_links(message):
    return message.locator('a[href^="#source-"]')


def check_answer_with_sources(tab: Tab, message) -> list[str]:
    """The answer's markers are links to cards in the sources panel; returns the hrefs."""
    links = marker_links(message)
    assert links.count() >= 1, message.inner_text()
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    texts = [links.nth(i).inner_text() for i in range(links.count())]
    for href, text in zip(hrefs, texts):
        n = href.removeprefix("#source-")
        assert re.fullmatch(r"\d+", n), href
        assert text == f"[{n}]", (href, text)
        card = tab.page.locator(f"#sources .citation#source-{n}")
        assert card.count() == 1, f"no source card for {href}"
    assert "#source-1" in hrefs
    # Rendered as links, not as raw Markdown.
    answer_text = message.inner_text()
    assert "](#source-" not in answer_text and "\\[" not in answer_text, answer_text
    return hrefs


def test_page_loads(tab: Tab):
    page = tab.page
    assert page.title() == "Cited answers"
    assert page.locator("#question textarea").get_attribute("placeholder") == "Ask in English or German…"
    assert page.locator("#ask").inner_text().strip() == "Ask"
    assert "3 documents" in page.locator("#status").inner_text()
    assert "Sources of the answer appear here." in page.locator("#sources").inner_text()
    assert tab.bots().count() == 0
    tab.screenshot("01-loaded.png")


def test_answer_has_linked_markers_and_highlighted_sources(tab: Tab):
    page = tab.page
    answer = tab.ask(QUESTION)
    assert page.locator(USER).last.inner_text().strip() == QUESTION
    check_answer_with_sources(tab, answer)

    card = page.locator("#sources .citation#source-1")
    expect_visible(card)
    title = card.locator(".citation-title").inner_text()
    assert title.startswith("[1]") and len(title.removeprefix("[1]").strip()) > 5, title
    meta = card.locator(".citation-meta").inner_text()
    assert SOURCE_FILE.search(meta), meta
    passage = card.locator(".passage")
    expect_visible(passage)
    marks = passage.locator("mark")
    assert marks.count() >= 1
    expect_visible(marks.first)
    marked = [marks.nth(i).inner_text().strip() for i in range(marks.count())]
    assert all(marked), marked
    # Extractive answers quote the cited sentence: the highlighted sentence is in the answer.
    answer_text = " ".join(answer.inner_text().split())
    assert any(" ".join(m.split()) in answer_text for m in marked), (marked, answer_text)
    assert "Searched for:" in page.locator("#searched").inner_text()
    tab.screenshot("02-answer.png")


def test_in_context_view_and_marker_link(tab: Tab):
    page = tab.page
    answer = tab.ask(QUESTION)
    card = page.locator("#sources .citation#source-1")
    details = card.locator("details")
    in_context = details.locator(".in-context")
    assert not in_context.is_visible()  # closed until asked for
    details.locator("summary").click()
    page.wait_for_function("() => document.querySelector('#source-1 details').open")
    expect_visible(in_context)
    cited = in_context.locator(".cited-passage")
    expect_visible(cited)
    expect_visible(cited.locator("mark").first)
    passage_text = " ".join(card.locator(".passage").inner_text().split())
    assert passage_text in " ".join(in_context.inner_text().split())
    assert len(in_context.inner_text()) > len(passage_text)  # the surrounding text too
    tab.screenshot("03-in-context.png")

    # The [1] marker in the answer jumps to its card.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    link = answer.locator('a[href="#source-1"]').first
    link.click()
    page.wait_for_function("() => location.hash === '#source-1'")
    assert page.evaluate("document.querySelector(':target') && document.querySelector(':target').id") == "source-1"
    assert len(page.context.pages) == 1  # same tab, no new window
    box = card.bounding_box()
    viewport_height = page.evaluate("window.innerHeight")
    assert box is not None and box["y"] < viewport_height and box["y"] + box["height"] > 0, box
    outline = card.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid", outline  # the :target style marks the card the marker points at
    tab.screenshot("03b-marker-clicked.png", full_page=False)


def test_follow_up_question_is_condensed(tab: Tab):
    page = tab.page
    first = tab.ask(QUESTION)
    check_answer_with_sources(tab, first)
    # This time with the Enter key (the textbox's submit event) instead of the Ask button.
    before = tab.bots().count()
    page.fill("#question textarea", FOLLOW_UP)
    page.locator("#question textarea").press("Enter")
    second = tab.wait_for_answer(before)
    assert tab.bots().count() == 2
    assert page.locator(USER).last.inner_text().strip() == FOLLOW_UP
    searched = page.locator("#searched").inner_text().strip()
    assert searched.startswith("Searched for:"), searched
    standalone = searched.removeprefix("Searched for:").strip()
    assert FOLLOW_UP in standalone, standalone
    assert "Clark" in standalone or "powers" in standalone, standalone
    # Extractive answers may quote the same sentences for both turns: they are two messages all the same.
    assert second.inner_text().strip()
    assert not second.inner_text().strip().startswith("⚠️"), second.inner_text()
    if marker_links(second).count():
        check_answer_with_sources(tab, second)
    else:  # an honest "not in the sources" is an answer too; the panel then says so
        assert "No passage supports an answer." in page.locator("#sources").inner_text()
        assert page.locator("#sources .citation").count() == 0
    tab.screenshot("04-follow-up.png")


@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "whitespace"])
def test_empty_question_gets_a_friendly_message_and_the_app_keeps_working(tab: Tab, blank: str):
    page = tab.page
    warning = tab.ask(blank)
    text = warning.inner_text().strip()
    assert text.startswith("⚠️"), text
    assert "empty" in text.lower(), text
    assert "Traceback" not in page.content()
    assert page.locator(".toast-body").count() == 0  # no error pop-up, the message is in the chat
    assert "Sources of the answer appear here." in page.locator("#sources").inner_text()
    if blank:
        tab.screenshot("05-error.png")
    answer = tab.ask(QUESTION)
    check_answer_with_sources(tab, answer)
    if blank:
        tab.screenshot("05b-after-error.png")


def test_two_tabs_ask_concurrently(tab: Tab, context, app_server):
    other = Tab(context.new_page(), app_server.url).load()
    first_before = tab.submit(QUESTION)
    second_before = other.submit(OTHER_QUESTION)
    first = tab.wait_for_answer(first_before)
    second = other.wait_for_answer(second_before)
    for one, message, question in ((tab, first, QUESTION), (other, second, OTHER_QUESTION)):
        check_answer_with_sources(one, message)
        # Each tab is its own session: only its own question and answer.
        users = one.page.locator(USER)
        assert users.count() == 1 and users.first.inner_text().strip() == question
        assert one.bots().count() == 1
    assert "Morgan Edge" in other.page.locator("#searched").inner_text()
    assert "Morgan Edge" not in tab.page.locator("#searched").inner_text()
    left = tab.screenshot("06-two-tabs-1.png")
    right = other.screenshot("06-two-tabs-2.png")
    side_by_side(left, right, SCREENSHOTS / "06-two-tabs.png")
    left.unlink()
    right.unlink()
    other.assert_healthy()


# --- UI behaviour that once was wrong (found by looking at the screenshots) ---


def test_in_context_view_opens_at_the_cited_passage(tab: Tab):
    tab.ask(QUESTION)
    details = tab.page.locator("#sources #source-1 details")
    details.locator("summary").click()
    tab.page.wait_for_function("() => document.querySelector('#source-1 details').open")
    box = details.locator(".in-context").bounding_box()
    mark = details.locator(".in-context mark").first.bounding_box()
    assert box["y"] <= mark["y"] and mark["y"] + mark["height"] <= box["y"] + box["height"], (box, mark)


def test_markers_of_earlier_answers_still_point_at_their_own_passages(tab: Tab):
    tab.ask(QUESTION)
    tab.ask(FOLLOW_UP)
    for i in range(tab.bots().count()):
        message = tab.bots().nth(i)
        quoted = " ".join(message.inner_text().split())
        links = marker_links(message)
        for j in range(links.count()):
            card = tab.page.locator(f"#sources .citation{links.nth(j).get_attribute('href')}")
            assert card.count() == 1, f"answer {i + 1}: {links.nth(j).get_attribute('href')} points nowhere"
            marks = card.locator(".passage mark")
            marked = [" ".join(marks.nth(k).inner_text().split()) for k in range(marks.count())]
            assert any(m in quoted for m in marked), f"answer {i + 1}: its marker shows another passage"


def test_blank_question_adds_no_empty_user_bubble(tab: Tab):
    tab.ask("   ")
    users = tab.page.locator(USER)
    assert all(users.nth(i).inner_text().strip() for i in range(users.count()))


def expect_visible(locator) -> None:
    locator.wait_for(state="visible", timeout=10_000)
    assert locator.is_visible()


def side_by_side(left: Path, right: Path, target: Path) -> None:
    from PIL import Image

    with Image.open(left) as a, Image.open(right) as b:
        gap = 16
        combined = Image.new("RGB", (a.width + gap + b.width, max(a.height, b.height)), "#888888")
        combined.paste(a, (0, 0))
        combined.paste(b, (a.width + gap, 0))
        combined.save(target)
