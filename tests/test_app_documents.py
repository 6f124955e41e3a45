"""The document library in a real headless Chromium, against `python app.py` serving a copy of
seeds/ plus a document full of markup: removing a document keeps its file, deleting a file needs a
confirmation naming it, uploads add the good files and name the bad ones, and document text is
shown as text everywhere (no remote loads, no live links)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from support.app_browser import DESKTOP, Tab, expect_visible, launch, marker_links, needs_chromium, serve_app
from support.ports import free_port
from support.seeds import copy_seeds

pytestmark = needs_chromium

HOSTILE_NAME = "zz_lighthouse.md"
HOSTILE_QUESTION = "What did the lighthouse keeper Brannagh report about the harbour pixel?"


def hostile_document(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    return (
        "# The lighthouse keeper's harbour log\n\n"
        f'The lighthouse keeper Brannagh reported the harbour pixel <img src="{base}/pixel"> at dawn. '
        f'Session expired: <a href="{base}/login">click here</a> to log in again, wrote Brannagh about the harbour pixel. '
        "<script>window.__documentScript = 1</script> "
        f"Brannagh reported the harbour pixel ![tracker]({base}/md-pixel) and [Session expired: click here]({base}/md-link) "
        f"near the lighthouse, see {base}/bare or www.example.com for the harbour pixel report.\n"
    )


class Listener:
    """A loopback HTTP server that records every request it gets."""

    def __init__(self, port: int):
        self.requests: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                listener.requests.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener(free_port())
    yield server
    server.close()


@pytest.fixture(scope="module")
def app_server(request, tmp_path_factory, listener):
    work_dir = tmp_path_factory.mktemp("app-documents")
    copy_seeds(work_dir / "seeds")
    (work_dir / "seeds" / HOSTILE_NAME).write_text(hostile_document(listener.server.server_port), encoding="utf-8")
    yield from serve_app(request, work_dir)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def tab(browser, app_server, listener) -> Iterator[Tab]:
    context = browser.new_context(viewport=DESKTOP)
    listener_url = f"http://127.0.0.1:{listener.server.server_port}/"

    def route(route):  # the app, and the listener (so that a fetch of it would really arrive)
        url = route.request.url
        if url.startswith((app_server.url, listener_url, "data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", route)
    tab = Tab(context.new_page(), app_server.url).load()
    yield tab
    tab.assert_healthy()
    context.close()


def choose(tab: Tab, dropdown: str, option: str) -> None:
    tab.page.locator(f"{dropdown} input").click()
    tab.page.get_by_role("option", name=option).first.click()


def wait_for_job(tab: Tab, text: str = "Done") -> str:
    tab.page.wait_for_function(
        "(text) => document.querySelector('#ingest-status').innerText.includes(text) || "
        "document.querySelector('#ingest-status').innerText.includes('⚠️')",
        arg=text,
        timeout=180_000,
    )
    return tab.page.locator("#ingest-status").inner_text()


def library_sources(tab: Tab) -> list[str]:
    return [c.strip() for c in tab.page.locator("#library table.library tbody td:nth-child(2)").all_inner_texts()]


def test_document_text_is_text_in_the_chat_and_the_sources(tab: Tab, listener: Listener):
    page = tab.page
    answer = tab.ask(HOSTILE_QUESTION)
    assert marker_links(answer).count() >= 1, answer.inner_text()
    section = page.locator("#sources .answer-sources:not([hidden])")
    section.locator("details summary").first.click()  # the whole text too
    page.wait_for_timeout(1500)
    shown = answer.inner_text() + section.inner_text()
    assert "<img" in shown or "<a href" in shown or "![tracker]" in shown, shown  # visible as characters
    assert not listener.requests, listener.requests
    assert page.evaluate("window.__documentScript") is None
    assert page.locator("#chat img, #sources img").count() == 0
    live = page.evaluate(
        "() => [...document.querySelectorAll('#chat a, #sources a')].map(a => a.getAttribute('href'))"
        ".filter(h => !/^#a\\d+-source-\\d+$/.test(h || ''))"
    )
    assert not live, live  # only the answer's own markers are links
    tab.screenshot("20-hostile-document.png")


def test_the_library_lists_every_indexed_document(tab: Tab):
    rows = tab.page.locator("#library table.library tbody tr")
    assert rows.count() == 4
    assert HOSTILE_NAME in library_sources(tab)
    row = tab.page.locator("#library tr", has_text=HOSTILE_NAME)
    assert "Markdown" in row.inner_text() and "English" in row.inner_text()
    assert "The lighthouse keeper's harbour log" in row.inner_text()
    tab.screenshot("21-library.png")


def test_removing_a_document_from_the_index_keeps_its_file(tab: Tab, app_server):
    page = tab.page
    file = app_server.source_dir / HOSTILE_NAME
    choose(tab, "#document", f"The lighthouse keeper's harbour log ({HOSTILE_NAME})")
    page.click("#remove-from-index")
    assert "Done" in wait_for_job(tab)
    page.wait_for_function(f"() => !document.querySelector('#library').innerText.includes('{HOSTILE_NAME}\\t')")
    assert HOSTILE_NAME not in library_sources(tab)
    assert file.is_file()  # the file stays
    assert "Removed from the index" in page.locator("#library").inner_text()
    tab.screenshot("22-removed-from-index.png")
    # Re-ingesting the folder does not bring it back; "Add back" does.
    page.click("#reingest")
    wait_for_job(tab, "Re-ingesting the folder. ")
    assert HOSTILE_NAME not in library_sources(tab)
    choose(tab, "#kept-out", HOSTILE_NAME)
    page.click("#restore")
    wait_for_job(tab, f"Adding {HOSTILE_NAME} back")
    page.wait_for_function(f"() => document.querySelector('#library tbody').innerText.includes('{HOSTILE_NAME}')")


def test_deleting_a_file_asks_first_naming_it_and_cancel_keeps_it(tab: Tab, app_server):
    page = tab.page
    source = sorted(p.name for p in app_server.source_dir.glob("00*.txt"))[0]
    option = [o for o in page.evaluate(
        "() => [...document.querySelectorAll('#library tbody tr')].map(r => r.cells[0].innerText + ' (' + r.cells[1].innerText + ')')"
    ) if source in o][0]
    choose(tab, "#document", option)
    page.click("#delete-file")
    confirm = page.locator("#confirm-delete")
    expect_visible(confirm)
    assert source in confirm.inner_text() and str(app_server.source_dir) in confirm.inner_text()
    tab.screenshot("23-confirm-delete.png", full_page=False)
    page.click("#cancel-delete")
    page.wait_for_selector("#confirm-delete", state="hidden")
    assert (app_server.source_dir / source).is_file()


def test_a_batch_upload_adds_good_files_names_bad_ones_and_asks_before_replacing(tab: Tab, app_server, tmp_path):
    page = tab.page
    good = tmp_path / "new_notes.txt"
    good.write_text("Notes about the harbour: the ferry leaves at nine.\n", encoding="utf-8")
    latin = tmp_path / "legacy.txt"
    latin.write_bytes("Grüße aus Köln, schrieb der Fährmann.\n".encode("latin-1"))
    same_name = tmp_path / HOSTILE_NAME
    same_name.write_text("# A replacement\n\nThe replacement text about the ferry.\n", encoding="utf-8")
    page.locator("#uploads input[type=file]").set_input_files([str(good), str(latin), str(same_name)])
    page.wait_for_timeout(1000)
    page.click("#add")
    page.wait_for_function("() => document.querySelector('#upload-note').innerText.includes('legacy.txt')")
    note = page.locator("#upload-note").inner_text()
    assert "UTF-8" in note and "iconv" not in note and "/tmp" not in note and str(tmp_path) not in note, note
    replace = page.locator("#confirm-replace")
    expect_visible(replace)
    assert HOSTILE_NAME in replace.inner_text()
    assert page.locator("#uploads .file-preview, #uploads table").count() == 0  # the upload box is cleared
    tab.screenshot("24-upload.png", full_page=False)
    wait_for_job(tab, "Adding new_notes.txt. ")
    page.wait_for_function("() => document.querySelector('#library tbody').innerText.includes('new_notes.txt')")
    assert "replacement" not in (app_server.source_dir / HOSTILE_NAME).read_text(encoding="utf-8")
    page.click("#replace")
    wait_for_job(tab, f"Replacing {HOSTILE_NAME}. ")
    assert "replacement" in (app_server.source_dir / HOSTILE_NAME).read_text(encoding="utf-8")
    assert not (app_server.source_dir / "legacy.txt").exists()
