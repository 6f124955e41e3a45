"""The chat app in a real headless Chromium (Playwright, sync API), against `python app.py`, at
desktop (1366×900) and phone (390×844) sizes. The browser may only talk to the app: any other
request is aborted and fails the test. Screenshots of the steps go to test-output/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.app_browser import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    USER,
    Tab,
    expect_visible,
    launch,
    marker_links,
    needs_chromium,
    serve_app,
)

QUESTION = "Why did Clark lose his powers?"
FOLLOW_UP = "Who took them from him?"
OTHER_QUESTION = "Who is Morgan Edge?"
OFF_TOPIC = "What is the boiling point of tungsten?"
SOURCE_FILE = re.compile(r"\b00\d_[0-9a-f]+\.txt\b")

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def app_server(request, tmp_path_factory):
    yield from serve_app(request, tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def only_the_app(context, app_url: str) -> list[str]:
    foreign: list[str] = []

    def route(route):
        url = route.request.url
        if url.startswith(app_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    context.route("**/*", route)
    return foreign


def new_tab(browser, app_server, viewport) -> Iterator[Tab]:
    context = browser.new_context(viewport=viewport)
    foreign = only_the_app(context, app_server.url)
    tab = Tab(context.new_page(), app_server.url).load()
    yield tab
    tab.assert_healthy()
    context.close()
    assert not foreign, f"the page tried to reach other hosts: {foreign}"


@pytest.fixture
def tab(browser, app_server) -> Iterator[Tab]:
    yield from new_tab(browser, app_server, DESKTOP)


@pytest.fixture
def phone(browser, app_server) -> Iterator[Tab]:
    yield from new_tab(browser, app_server, PHONE)


def check_answer_with_sources(tab: Tab, message, answer_number: int) -> list[str]:
    """The answer's markers link to cards of its own sources; returns the hrefs."""
    links = marker_links(message)
    assert links.count() >= 1, message.inner_text()
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    for i, href in enumerate(hrefs):
        match = re.fullmatch(rf"#a{answer_number}-source-(\d+)", href)
        assert match, href
        assert links.nth(i).inner_text() == f"[{match.group(1)}]"
        assert tab.page.locator(f"#sources .citation{href}").count() == 1, f"no source card for {href}"
    answer_text = message.inner_text()
    assert "](#" not in answer_text and "\\[" not in answer_text, answer_text  # links, not raw Markdown
    return hrefs


def current_section(tab: Tab) -> str:
    return tab.page.evaluate(
        "() => [...document.querySelectorAll('#sources .answer-sources')].filter(s => !s.hidden)"
        ".map(s => s.dataset.answer).join(',')"
    )


# --- asking -----------------------------------------------------------------------------------


def test_page_loads_with_every_control_labelled(tab: Tab):
    page = tab.page
    assert page.title() == "Cited answers"
    assert "3 documents" in page.locator("#status").inner_text()
    assert "Sources of the answer appear here." in page.locator("#sources").inner_text()
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('button, input, textarea, select, [role=button]')]
          .filter(e => e.offsetParent !== null && e.type !== 'hidden')
          .filter(e => {
            const label = e.getAttribute('aria-label') || (e.labels && [...e.labels].map(l => l.innerText).join(''))
              || e.getAttribute('title') || e.innerText || e.getAttribute('aria-labelledby');
            return !label || !label.trim();
          }).map(e => e.outerHTML.slice(0, 120))"""
    )
    assert not unlabelled, unlabelled
    tab.screenshot("01-loaded.png")


def test_answer_has_linked_markers_and_highlighted_sources(tab: Tab):
    page = tab.page
    answer = tab.ask(QUESTION)
    assert page.locator(USER).last.inner_text().strip() == QUESTION
    check_answer_with_sources(tab, answer, 1)
    card = page.locator("#sources .citation#a1-source-1")
    expect_visible(card)
    assert SOURCE_FILE.search(card.locator(".citation-meta").inner_text())
    marks = card.locator(".passage mark")
    assert marks.count() >= 1
    marked = [" ".join(marks.nth(i).inner_text().split()) for i in range(marks.count())]
    answer_text = " ".join(answer.inner_text().split())
    assert any(m in answer_text for m in marked), (marked, answer_text)  # extractive answers quote it
    assert "Searched for:" in page.locator("#searched").inner_text()
    tab.screenshot("02-answer.png")


def test_in_context_view_opens_at_the_cited_passage(tab: Tab):
    tab.ask(QUESTION)
    details = tab.page.locator("#sources #a1-source-1 details")
    details.locator("summary").click()
    tab.page.wait_for_function("() => document.querySelector('#a1-source-1 details').open")
    box = details.locator(".in-context").bounding_box()
    mark = details.locator(".in-context mark").first.bounding_box()
    assert box["y"] <= mark["y"] and mark["y"] + mark["height"] <= box["y"] + box["height"], (box, mark)
    tab.screenshot("03-in-context.png")


def test_over_long_question_stays_in_the_box_with_the_error_next_to_it(tab: Tab):
    page = tab.page
    limit = int(page.locator("#question-count").get_attribute("data-limit"))
    too_long = "Why did Clark lose his powers? " * (limit // 30 + 2)
    page.fill("#question textarea", too_long)
    page.wait_for_function("() => document.querySelector('#question-count').classList.contains('over')")
    assert f"/ {limit} characters" in page.locator("#question-count").inner_text()
    page.click("#ask")
    error = page.locator("#question-error")
    page.wait_for_function("() => document.querySelector('#question-error').innerText.includes('limit')")
    assert str(limit) in error.inner_text()
    assert page.input_value("#question textarea") == too_long  # nothing typed is lost
    assert tab.bots().count() == 0 and tab.users().count() == 0  # no bubble in the chat
    tab.screenshot("05-too-long.png", full_page=False)


@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "whitespace"])
def test_empty_questions_show_one_error_next_to_the_input_and_nothing_in_the_chat(tab: Tab, blank: str):
    page = tab.page
    for _ in range(3):
        page.fill("#question textarea", blank)
        page.click("#ask")
    page.wait_for_function("() => document.querySelector('#question-error').innerText.includes('empty')")
    assert tab.bots().count() == 0 and tab.users().count() == 0
    assert page.locator(".toast-body").count() == 0
    answer = tab.ask(QUESTION)
    check_answer_with_sources(tab, answer, 1)
    assert not page.locator("#question-error").inner_text().strip()  # the error goes once answered


def test_follow_up_question_is_condensed(tab: Tab):
    page = tab.page
    tab.ask(QUESTION)
    before = tab.bots().count()
    page.fill("#question textarea", FOLLOW_UP)
    page.locator("#question textarea").press("Enter")
    tab.wait_for_answer(before)
    standalone = page.locator("#searched").inner_text().removeprefix("Searched for:").strip()
    assert FOLLOW_UP in standalone and ("Clark" in standalone or "powers" in standalone), standalone
    tab.screenshot("04-follow-up.png")


@pytest.mark.parametrize("reset", ["trash icon", "New conversation"])
def test_a_new_conversation_leaves_no_trace_in_the_next_follow_up(tab: Tab, reset: str):
    page = tab.page
    tab.ask(QUESTION)
    if reset == "trash icon":
        page.locator('#chat button[aria-label="Clear"], #chat button[title="Clear"]').first.click()
    else:
        page.click("#new-conversation")
    page.wait_for_function("() => document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0")
    page.wait_for_function("() => document.querySelector('#sources').innerText.includes('appear here')")
    assert not page.locator("#searched").inner_text().strip()
    tab.ask(FOLLOW_UP)
    searched = page.locator("#searched").inner_text()
    assert "Clark" not in searched and "powers" not in searched, searched
    assert tab.users().count() == 1
    assert page.locator("#chat button[aria-label='Share'], #chat button[title='Share']").count() == 0


def test_an_earlier_answers_marker_opens_its_own_sources(tab: Tab):
    page = tab.page
    first = tab.ask(QUESTION)
    first_hrefs = check_answer_with_sources(tab, first, 1)
    second = tab.ask(OTHER_QUESTION)
    check_answer_with_sources(tab, second, 2)
    assert current_section(tab) == "2"
    marker_links(first).first.click()
    assert current_section(tab) == "1"
    card = page.locator(f"#sources .citation{first_hrefs[0]}")
    expect_visible(card)
    assert "current" in card.get_attribute("class")
    marked = [" ".join(t.split()) for t in card.locator(".passage mark").all_inner_texts()]
    quoted = " ".join(first.inner_text().split())
    assert any(m in quoted for m in marked), "the old marker shows another answer's passage"
    tab.screenshot("07-old-marker.png", full_page=False)
    marker_links(second).first.click()
    assert current_section(tab) == "2"


def test_hovering_a_marker_previews_its_passage_in_place(tab: Tab):
    answer = tab.ask(QUESTION)
    link = marker_links(answer).first
    link.hover()
    preview = tab.page.locator("#citation-preview")
    expect_visible(preview)
    card_passage = " ".join(tab.page.locator("#a1-source-1 .passage").inner_text().split())
    assert " ".join(preview.locator(".passage").inner_text().split()) == card_passage
    tab.screenshot("08-hover-preview.png", full_page=False)


def test_keyboard_alone_can_ask_open_a_citation_and_come_back(tab: Tab):
    page = tab.page
    page.focus("#question textarea")
    page.keyboard.type(QUESTION)
    before = tab.bots().count()
    page.keyboard.press("Enter")
    answer = tab.wait_for_answer(before)
    link = marker_links(answer).first
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'a1-source-1'")
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.activeElement && document.activeElement.matches('a[href=\"#a1-source-1\"]')")


def test_top_k_shows_more_retrieved_passages_under_the_cited_ones(tab: Tab):
    page = tab.page
    tab.open_accordion("Search settings", showing="#top-k input[type=number]")

    def retrieved_with(k: int) -> int:
        tab.set_slider("top-k", k)  # ask only once the slider itself shows the value
        tab.ask(QUESTION)
        section = page.locator("#sources .answer-sources:not([hidden])")
        cited = section.locator(".citation").count()
        also = section.locator(".also-retrieved li").count()
        return cited + also

    assert retrieved_with(2) == 2
    assert retrieved_with(8) == 8
    page.locator("#sources .answer-sources:not([hidden]) .also-retrieved summary").click()
    tab.screenshot("09-also-retrieved.png")


def test_an_active_filter_is_a_removable_chip_and_a_refusal_names_it(tab: Tab):
    page = tab.page
    tab.open_accordion("Search settings", showing="#filter label")
    page.locator("#filter label").first.click()
    chosen = page.locator("#filter label").first.inner_text().strip()
    tab.close_accordion("Search settings")  # the chip stays
    chip = page.locator("#filter-chip")
    expect_visible(chip)
    assert chosen in chip.inner_text()
    refusal = tab.ask(OFF_TOPIC)
    text = refusal.inner_text()
    assert "do not contain an answer" in text and "Searched only in" in text and chosen in text, text
    tab.screenshot("10-filter-chip.png", full_page=False)
    page.click("#remove-filter")
    page.wait_for_selector("#filter-row", state="hidden")
    assert page.locator("#filter input:checked").count() == 0


def test_llm_mode_is_shown_disabled_with_a_hint_when_no_server_is_set(tab: Tab):
    page = tab.page
    tab.open_accordion("Search settings", showing="#mode input[value=llm]")
    llm = page.locator("#mode input[value=llm]")
    assert llm.count() == 1 and llm.is_disabled()
    assert "RAG_LLM_BASE_URL" in page.locator("#mode").inner_text()


def test_conversations_are_kept_and_can_be_reopened_and_deleted(tab: Tab, browser, app_server):
    tab.ask(QUESTION)
    tab.ask(OTHER_QUESTION)
    # A new tab (a new session) finds the conversation in the saved list.
    other = Tab(browser.new_context(viewport=DESKTOP).new_page(), app_server.url).load()
    other.open_accordion("Conversations", showing="#saved input")
    other.page.locator("#saved input").click()
    other.page.get_by_role("option", name=re.compile(re.escape(QUESTION))).first.click()
    other.page.click("#open-conversation")
    other.page.wait_for_function("() => document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 2")
    first = other.bots().first
    check_answer_with_sources(other, first, 1)
    marker_links(first).first.click()
    assert current_section(other) == "1"
    other.screenshot("11-reopened.png")
    other.page.click("#delete-conversation")
    other.page.wait_for_function("() => document.querySelector('#conversation-note').innerText.includes('deleted')")
    assert other.bots().count() == 0
    other.assert_healthy()
    other.page.context.close()


# --- phone --------------------------------------------------------------------------------------


def test_on_a_phone_a_marker_opens_a_sheet_over_the_chat_and_back_returns(phone: Tab):
    page = phone.page
    answer = phone.ask(QUESTION)
    link = marker_links(answer).first
    link.scroll_into_view_if_needed()
    scroll_before = page.evaluate("window.scrollY")
    link.click()
    sheet = page.locator("#citation-sheet")
    expect_visible(sheet)
    assert sheet.get_attribute("role") == "dialog"
    box = sheet.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] + 1, box  # over the chat, on screen
    assert abs(page.evaluate("window.scrollY") - scroll_before) < 50  # no jump down to the sources
    assert sheet.locator(".passage mark").count() >= 1
    phone.screenshot("12-phone-sheet.png", full_page=False)
    page.click("#citation-sheet .back-to-answer")
    page.wait_for_selector("#citation-sheet", state="detached")
    assert page.evaluate("document.activeElement.getAttribute('href')") == link.get_attribute("href")
    phone.screenshot("12b-phone-back.png", full_page=False)


def test_on_a_phone_the_newest_question_is_visible_above_its_answer(phone: Tab):
    page = phone.page
    phone.ask(QUESTION)
    phone.ask(OTHER_QUESTION)
    page.wait_for_timeout(500)
    question = phone.users().last
    chat = page.locator("#chat").bounding_box()
    box = question.bounding_box()
    assert chat["y"] + 30 <= box["y"] and box["y"] + box["height"] <= chat["y"] + chat["height"], (box, chat)
    phone.screenshot("13-phone-chat.png")


def test_two_tabs_ask_concurrently(tab: Tab, browser, app_server):
    other = Tab(browser.new_context(viewport=DESKTOP).new_page(), app_server.url).load()
    first_before = tab.submit(QUESTION)
    second_before = other.submit(OTHER_QUESTION)
    first = tab.wait_for_answer(first_before)
    second = other.wait_for_answer(second_before)
    for one, message, question in ((tab, first, QUESTION), (other, second, OTHER_QUESTION)):
        check_answer_with_sources(one, message, 1)
        assert one.users().count() == 1 and one.users().first.inner_text().strip() == question
    assert "Morgan Edge" in other.page.locator("#searched").inner_text()
    assert "Morgan Edge" not in tab.page.locator("#searched").inner_text()
    left, right = tab.screenshot("06-two-tabs-1.png"), other.screenshot("06-two-tabs-2.png")
    side_by_side(left, right, SCREENSHOTS / "06-two-tabs.png")
    left.unlink()
    right.unlink()
    other.assert_healthy()
    other.page.context.close()


def side_by_side(left: Path, right: Path, target: Path) -> None:
    from PIL import Image

    with Image.open(left) as a, Image.open(right) as b:
        gap = 16
        combined = Image.new("RGB", (a.width + gap + b.width, max(a.height, b.height)), "#888888")
        combined.paste(a, (0, 0))
        combined.paste(b, (a.width + gap, 0))
        combined.save(target)
