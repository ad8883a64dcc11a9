"""Two tabs of one browser on one link: the older tab never replaces the newer answers unseen."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_forms_staff import MATRIX_ROWS, _wait_for, choose, drafts, press

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
@pytest.mark.posts("/r/page/<page_id>")
def test_a_tab_left_open_shows_both_answers_and_keeps_the_one_chosen(
    browser, live_server, javascript
):
    link = live_server.invite("session_evaluation")
    context = browser.new_context(java_script_enabled=javascript)
    try:
        old, new = context.new_page(), context.new_page()
        old.goto(link)
        old.get_by_role("button", name="Start now").click()
        expect(old.locator("main h1")).to_have_text("About the session")
        new.goto(old.url)  # the same page in a second tab of the same browser

        choose(new, "session_type", 2)
        choose(new, "session_role", 1)
        new.fill("#session_number", "3")
        press(new, "Continue", "Your views on the session")

        # The first tab, opened before, answers differently and presses Continue.
        choose(old, "session_type", 3)
        choose(old, "session_role", 2)
        old.fill("#session_number", "4")
        old.get_by_role("button", name="Continue").click()

        banner = old.locator("#changed-elsewhere")
        expect(banner).to_contain_text("saved in another tab or on another device")
        expect(banner).to_contain_text("Mentoring or peer supervision session")
        expect(banner).to_contain_text("Training or practical day")
        expect(old.locator("main h1")).to_have_text("About the session")
        saved = drafts(live_server, link)
        assert (saved["session_type"], saved["session_number"]) == (2, 3)  # nothing replaced yet

        # Pressing Continue again keeps this tab's answers, now knowingly.
        expect(old.locator("#session_number")).to_have_value("4")
        press(old, "Continue", "Your views on the session")
        saved = drafts(live_server, link)
        assert (saved["session_type"], saved["session_role"], saved["session_number"]) == (3, 2, 4)
    finally:
        context.close()


@pytest.mark.posts("/r/page/<page_id>/draft", "/r/page/<page_id>")
def test_a_tabs_own_background_saves_are_not_taken_for_another_tab(browser, live_server):
    link = live_server.invite("session_evaluation")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(link)
        page.get_by_role("button", name="Start now").click()
        choose(page, "session_type", 1)
        choose(page, "session_role", 1)
        page.fill("#session_number", "2")
        press(page, "Continue", "Your views on the session")
        for row in MATRIX_ROWS:
            choose(page, row, 4)
        choose(page, "session_overall", 5)
        page.locator("#action_agreed").press_sequentially("Book time with my mentor")
        _wait_for(
            lambda: drafts(live_server, link).get("action_agreed") == "Book time with my mentor"
        )
        page.locator("#action_agreed").press_sequentially(" and my team")

        press(page, "Continue", "Check your answers before sending them")
        assert page.locator("#changed-elsewhere").count() == 0
        assert drafts(live_server, link)["action_agreed"] == "Book time with my mentor and my team"
    finally:
        context.close()
