"""The document library in a real headless Chromium, against `python app.py` serving a copy of
seeds/ plus a document full of markup: every document's row has its actions (re-ingest, remove
from the index, delete the file); removing a document keeps its file, deleting a file needs a
confirmation naming it, re-ingesting an edited file updates its row and later answers, a file gone
from the folder is said to be gone and can be taken out of the index, uploads add the good files
and name the bad ones, document text is shown as text everywhere (no remote loads, no live
links), and on a phone the library is a list of cards that fits the screen."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from datetime import datetime

import pytest

from playwright.sync_api import expect

from support.app_browser import DESKTOP, PHONE, Tab, expect_visible, launch, marker_links, needs_chromium, serve_app
from support.paths import SEEDS
from support.ports import free_port
from support.seeds import copy_seeds

pytestmark = needs_chromium

HOSTILE_NAME = "zz_lighthouse.md"
HOSTILE_QUESTION = "What did the lighthouse keeper Brannagh report about the harbour pixel?"
GERMAN = "000_10d9073bc3f8410e.txt"
OTHER_GERMAN = "001_acc81d348d7d4859.txt"
ENGLISH = "002_835fa61d1c21454d.txt"
# Appended to ENGLISH before re-ingesting it: long enough for new chunks, and an answer only it holds.
POSTSCRIPT = "\n\nPostscript from the harbour. " + " ".join(
    f"On day {day} of the repairs the lighthouse keeper Oskarsson painted the {part} of the Fortress of Solitude "
    f"bright orange, and Chloe counted {day * 3} buckets of paint."
    for day, part in enumerate(["north wall", "crystal gate", "great hall", "east tower", "landing", "roof"], start=1)
) + "\n"
PAINT_QUESTION = "Who painted the Fortress of Solitude orange?"
CHARS = re.compile(r"chars (\d+)–(\d+)")


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



def open_tab(browser, app_server, listener, viewport) -> Iterator[Tab]:
    context = browser.new_context(viewport=viewport)
    listener_url = f"http://127.0.0.1:{listener.server.server_port}/"

    def route(route):  # the app, and the listener (so that a fetch of it would really arrive)
        url = route.request.url
        if url.startswith((app_server.url, listener_url, "data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", route)
    tab = Tab(context.new_page(), app_server.url).load()
    tab.page.wait_for_selector("#library tbody.doc", state="visible")
    yield tab
    tab.assert_healthy()
    context.close()


@pytest.fixture
def tab(browser, app_server, listener) -> Iterator[Tab]:
    yield from open_tab(browser, app_server, listener, DESKTOP)


@pytest.fixture
def phone(browser, app_server, listener) -> Iterator[Tab]:
    yield from open_tab(browser, app_server, listener, PHONE)


def wait_for_job(tab: Tab, text: str = "Done") -> str:
    """The status line once it says ``text`` (or that something failed: ⚠️)."""
    tab.page.wait_for_function(
        "(text) => document.querySelector('#ingest-status').innerText.includes(text) || "
        "document.querySelector('#ingest-status').innerText.includes('⚠️')",
        arg=text,
        timeout=180_000,
    )
    return tab.page.locator("#ingest-status").inner_text()


def library_sources(tab: Tab) -> list[str]:
    return [c.strip() for c in tab.page.locator("#library tbody.doc td.doc-file").all_inner_texts()]


def wait_for_library(tab: Tab, source: str, listed: bool = True) -> None:
    tab.page.wait_for_function(
        "([source, listed]) => [...document.querySelectorAll('#library tbody.doc td.doc-file')]"
        ".some(cell => cell.innerText.trim() === source) === listed",
        arg=[source, listed],
        timeout=180_000,
    )


def document_row(tab: Tab, source: str):
    """The document's part of the library: its table row (and the row under it), or its card on a phone."""
    return tab.page.locator("#library tbody.doc").filter(has=tab.page.locator("td.doc-file", has_text=source))


def row_button(tab: Tab, source: str, action: str):
    return document_row(tab, source).locator(f'button[data-action="{action}"]')


def chunks_shown(tab: Tab, source: str) -> int:
    return int(document_row(tab, source).locator("td.doc-chunks").inner_text().split()[0])


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


def test_the_library_lists_every_indexed_document_with_its_actions(tab: Tab):
    page = tab.page
    assert page.locator("#library tbody.doc").count() == 4
    assert HOSTILE_NAME in library_sources(tab)
    row = document_row(tab, HOSTILE_NAME)
    assert "Markdown" in row.inner_text() and "English" in row.inner_text()
    assert "The lighthouse keeper's harbour log" in row.inner_text()
    for action, name in (("reingest", "Re-ingest"), ("remove", "Remove from index"), ("delete", "Delete file…")):
        button = row_button(tab, HOSTILE_NAME, action)
        assert button.is_visible() and button.inner_text() == name
        assert HOSTILE_NAME in button.get_attribute("aria-label")  # a screen reader hears which document
    # On a wide screen it is a table: a header, and each document's facts side by side in one row.
    assert page.locator("#library thead th", has_text="Chunks").is_visible()
    title, file = (row.locator(cell).bounding_box() for cell in ("td.doc-title", "td.doc-file"))
    assert abs(title["y"] - file["y"]) < 2 and file["x"] > title["x"] + title["width"] - 1
    tab.screenshot("21-library.png")


def test_removing_a_document_from_the_index_keeps_its_file(tab: Tab, app_server):
    page = tab.page
    file = app_server.source_dir / HOSTILE_NAME
    row_button(tab, HOSTILE_NAME, "remove").click()
    assert "Done" in wait_for_job(tab, f"Removing {HOSTILE_NAME} from the index (the file stays). ")
    wait_for_library(tab, HOSTILE_NAME, listed=False)
    assert file.is_file()  # the file stays
    kept = page.locator("#library .kept-out")
    assert "Removed from the index" in kept.inner_text() and HOSTILE_NAME in kept.inner_text()
    tab.screenshot("22-removed-from-index.png")
    # Re-ingesting the folder does not bring it back; "Add back" does.
    page.click("#reingest")
    wait_for_job(tab, "Re-ingesting the folder. ")
    assert HOSTILE_NAME not in library_sources(tab)
    kept.locator(f'button[data-action="restore"][data-source="{HOSTILE_NAME}"]').click()
    wait_for_job(tab, f"Adding {HOSTILE_NAME} back")
    wait_for_library(tab, HOSTILE_NAME)
    assert page.locator("#library .kept-out").count() == 0


def test_deleting_a_file_asks_first_naming_it_and_cancel_keeps_it(tab: Tab, app_server):
    page = tab.page
    source = OTHER_GERMAN
    row_button(tab, source, "delete").click()
    confirm = document_row(tab, source).locator(".doc-confirm")
    expect_visible(confirm)
    assert source in confirm.inner_text() and str(app_server.source_dir) in confirm.inner_text()
    assert "cannot be undone" in confirm.inner_text()
    # The question takes the focus on its harmless answer: Enter does not delete anything.
    assert page.evaluate("document.activeElement.dataset.action") == "cancel"
    tab.screenshot("23-confirm-delete.png", full_page=False)
    page.keyboard.press("Enter")
    page.wait_for_selector("#library .doc-confirm", state="detached")
    assert (app_server.source_dir / source).is_file()
    # Focus returns to the button that asked.
    page.wait_for_function(
        "(source) => document.activeElement.dataset.action === 'delete' && document.activeElement.dataset.source === source",
        arg=source,
    )


def test_reingesting_a_changed_file_updates_its_row_and_answers_cite_the_new_text(tab: Tab, app_server):
    page = tab.page
    path = app_server.source_dir / ENGLISH
    before = chunks_shown(tab, ENGLISH)
    path.write_text(path.read_text(encoding="utf-8") + POSTSCRIPT, encoding="utf-8")
    new_text = path.read_text(encoding="utf-8")

    row_button(tab, ENGLISH, "reingest").click()
    status = wait_for_job(tab, f"{ENGLISH} was updated")
    assert "⚠️" not in status, status
    after = chunks_shown(tab, ENGLISH)
    assert after > before and f"{before} → {after} chunks" in status, (before, after, status)
    row = document_row(tab, ENGLISH)
    assert f"{ENGLISH} was updated" in row.locator(".doc-note").inner_text()  # said where it was asked for
    written = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    assert written in row.locator("td.doc-added").inner_text()
    tab.screenshot("25-reingest-updated.png")

    answer = tab.ask(PAINT_QUESTION)
    assert "Oskarsson" in answer.inner_text(), answer.inner_text()
    cited = []
    for i in range(marker_links(answer).count()):
        card = page.locator(f"#sources .citation{marker_links(answer).nth(i).get_attribute('href')}")
        if ENGLISH in card.locator(".citation-meta").inner_text():
            start, end = map(int, CHARS.search(card.locator(".citation-meta").inner_text()).groups())
            cited.append((new_text[start:end], card.locator(".passage").inner_text()))
    assert any("Oskarsson" in passage for _, passage in cited), cited
    for sliced, passage in cited:
        assert sliced == passage  # the offsets index the new text


def test_reingesting_an_unchanged_file_says_unchanged(tab: Tab):
    before = chunks_shown(tab, GERMAN)
    row_button(tab, GERMAN, "reingest").click()
    status = wait_for_job(tab, f"{GERMAN} is unchanged")
    assert "nothing was re-embedded" in status, status
    note = document_row(tab, GERMAN).locator(".doc-note")
    expect_visible(note)
    assert "unchanged" in note.inner_text()
    assert chunks_shown(tab, GERMAN) == before


def long_log(version: str, paragraphs: int = 120) -> str:
    """English text of ~100 chunks, all different in each ``version``: re-ingesting it takes seconds."""
    english = (SEEDS / ENGLISH).read_text(encoding="utf-8").split()
    return "\n\n".join(
        f"{version} log entry {i}: " + " ".join(english[(i * 37) % (len(english) - 120) :][:120])
        for i in range(paragraphs)
    )


def test_while_a_re_ingest_runs_its_row_says_so_and_its_buttons_wait(tab: Tab, app_server):
    page = tab.page
    name = "zz_long_log.txt"
    path = app_server.source_dir / name
    path.write_text(long_log("First"), encoding="utf-8")
    page.click("#reingest")
    wait_for_job(tab, "Re-ingesting the folder. ")
    wait_for_library(tab, name)
    path.write_text(long_log("Second"), encoding="utf-8")  # every chunk changes

    row_button(tab, name, "reingest").click()
    expect(document_row(tab, name).locator(".doc-note")).to_contain_text("Re-ingesting…")
    for action in ("reingest", "remove", "delete"):
        assert row_button(tab, name, action).is_disabled()
    assert f"⏳ Re-ingesting {name}…" in page.locator("#ingest-status").inner_text()
    tab.screenshot("25b-reingest-running.png")
    status = wait_for_job(tab, f"{name} was updated")
    assert "⚠️" not in status, status
    assert not row_button(tab, name, "remove").is_disabled()


def test_reingesting_a_file_gone_from_the_folder_says_so_and_offers_removal(tab: Tab, app_server):
    page = tab.page
    name = "zz_gone_soon.txt"
    (app_server.source_dir / name).write_text("A note about the ferry timetable that will be deleted.\n", encoding="utf-8")
    page.click("#reingest")
    wait_for_job(tab, "Re-ingesting the folder. ")
    wait_for_library(tab, name)
    (app_server.source_dir / name).unlink()

    row_button(tab, name, "reingest").click()
    question = document_row(tab, name).locator(".doc-confirm")
    expect_visible(question)
    assert "no longer in the folder" in question.inner_text() and name in question.inner_text()
    assert "no longer in the folder" in page.locator("#ingest-status").inner_text()
    tab.screenshot("26-reingest-file-gone.png", full_page=False)
    question.locator('button[data-action="forget"]').click()
    wait_for_job(tab, f"Removing {name} from the index (its file is gone). ")
    wait_for_library(tab, name, listed=False)


def test_on_a_phone_the_library_is_cards_that_fit_and_their_actions_are_in_reach(phone: Tab, app_server):
    page = phone.page
    page.locator("#library").scroll_into_view_if_needed()
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth"), page.evaluate(
        "[document.scrollingElement.scrollWidth, innerWidth]"
    )
    cards = page.locator("#library tbody.doc")
    assert cards.count() >= 3
    for i in range(cards.count()):
        card = cards.nth(i)
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        # A card, not a squeezed table: the title runs across the card, the facts share one line.
        title = card.locator("td.doc-title").bounding_box()
        assert title["width"] > 0.8 * box["width"], (title, box)
        facts = [card.locator(cell).bounding_box() for cell in ("td.doc-format", "td.doc-language", "td.doc-chunks")]
        assert max(f["y"] for f in facts) - min(f["y"] for f in facts) < 4, facts
        for action in ("reingest", "remove", "delete"):
            button = card.locator(f'button[data-action="{action}"]')
            button.scroll_into_view_if_needed()
            reach = button.bounding_box()
            assert reach["x"] >= 0 and reach["x"] + reach["width"] <= PHONE["width"] and reach["height"] >= 36, reach
    phone.screenshot("27-library-phone.png")

    row_button(phone, OTHER_GERMAN, "reingest").click()
    wait_for_job(phone, f"{OTHER_GERMAN} is unchanged")
    note = document_row(phone, OTHER_GERMAN).locator(".doc-note")
    expect_visible(note)
    row_button(phone, OTHER_GERMAN, "delete").click()
    question = document_row(phone, OTHER_GERMAN).locator(".doc-confirm")
    expect_visible(question)
    question.scroll_into_view_if_needed()
    box = question.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
    phone.screenshot("28-library-phone-confirm.png", full_page=False)
    question.locator('button[data-action="cancel"]').click()
    page.wait_for_selector("#library .doc-confirm", state="detached")
    assert (app_server.source_dir / OTHER_GERMAN).is_file()


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
    wait_for_library(tab, "new_notes.txt")
    assert "replacement" not in (app_server.source_dir / HOSTILE_NAME).read_text(encoding="utf-8")
    page.click("#replace")
    wait_for_job(tab, f"Replacing {HOSTILE_NAME}. ")
    assert "replacement" in (app_server.source_dir / HOSTILE_NAME).read_text(encoding="utf-8")
    assert not (app_server.source_dir / "legacy.txt").exists()
