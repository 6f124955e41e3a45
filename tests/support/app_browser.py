"""Headless Chromium against the running app (Playwright, sync API): launching the browser, a tab
with what went wrong in it, and waiting for answers. Used by the test_app_* browser modules.

Screenshots go to test-output/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from support.app_server import serve_app as serve_app_with_timeout
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
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
ANSWER_TIMEOUT_MS = 90_000  # the first question loads the model; answers then take ~0.1-2 s

OPEN_CLASS = re.compile(r"(^|\s)open(\s|$)")

BOT = '#chat [data-testid="bot"]'
USER = '#chat [data-testid="user"]'

needs_chromium = [
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


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


class Tab:
    """One browser tab on the app, with what went wrong in it (JS errors)."""

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

    def users(self):
        return self.page.locator(USER)

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

    def open_accordion(self, label: str, showing: str) -> None:
        """Open the accordion and wait until ``showing`` (a selector inside it) is visible: Gradio
        renders a closed accordion's content only after it opens, so counting right after the
        click finds nothing."""
        self._toggle_accordion(label, expanded=True)
        self.page.wait_for_selector(showing, state="visible")

    def set_slider(self, element_id: str, value: int, attempts: int = 3) -> None:
        """Type ``value`` into a Gradio slider's number box until the slider itself shows it.

        In one full-suite run the typed value never reached the slider (30 s), while the same test
        passed every time alone: the number box commits on Enter or blur, and a keystroke that
        lands before the box is ready is lost. Typing again is what a person would do."""
        box = self.page.locator(f"#{element_id} input[type=number]")
        shows_value = f"() => document.querySelector('#{element_id} input[type=range]').value === '{value}'"
        for attempt in range(1, attempts + 1):
            box.fill(str(value))
            box.press("Enter")
            box.press("Tab")  # the number box commits its value on blur too
            try:
                self.page.wait_for_function(shows_value, timeout=10_000)
                return
            except PlaywrightTimeoutError:
                if attempt == attempts:
                    raise

    def close_accordion(self, label: str) -> None:
        self._toggle_accordion(label, expanded=False)

    def _toggle_accordion(self, label: str, expanded: bool) -> None:
        # Gradio marks an open accordion's button with the class "open" (no aria-expanded).
        button = self.page.get_by_role("button", name=label)
        is_open = "open" in (button.get_attribute("class") or "").split()
        if is_open != expanded:
            button.click()
        if expanded:
            expect(button).to_have_class(OPEN_CLASS)
        else:
            expect(button).not_to_have_class(OPEN_CLASS)

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def assert_healthy(self) -> None:
        assert not self.errors, self.errors
        assert "Traceback" not in self.page.content()


def marker_links(message):
    return message.locator('a[href*="-source-"]')


def expect_visible(locator) -> None:
    locator.wait_for(state="visible", timeout=10_000)
    assert locator.is_visible()


# The shared machine may be busy: the first start ingests the seeds and loads the model.
PATIENT_START_TIMEOUT = 420.0


def serve_app(request, work_dir: Path):
    """A running app (support/app_server.py) with a patient start; its log is printed when a test
    of the module failed. Put files into ``work_dir / "seeds"`` first to serve another corpus."""
    yield from serve_app_with_timeout(request, work_dir, timeout=PATIENT_START_TIMEOUT)
