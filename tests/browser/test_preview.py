"""The preview in a real browser: htmx swaps, focus, keyboard, and the same with JavaScript off."""

import pytest

from tests.browser.conftest import sign_in, wait_until

pytestmark = pytest.mark.browser

CULTURE = "/admin/questionnaires/leadership_culture/preview"


def test_invalid_page_shows_errors_focused_without_a_reload(browser, live_app):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_app)
    page.goto(live_app + CULTURE)
    page.click("text=Start now")
    page.wait_for_selector("h1:has-text('About you')")
    page.evaluate("window.notReloaded = true")

    page.click("button:has-text('Continue')")
    page.wait_for_selector(".govuk-error-summary")

    assert page.evaluate("window.notReloaded") is True  # htmx swapped the page in place
    wait_until(page, "document.activeElement.classList.contains('govuk-error-summary')")
    page.click(".govuk-error-summary__list a >> nth=0")
    wait_until(page, "document.activeElement.id === 'team'")
    assert errors == []


def test_culture_items_can_be_answered_with_the_keyboard_alone(browser, live_app):
    page = browser.new_page()
    sign_in(page, live_app)
    page.goto(live_app + CULTURE)
    page.click("text=Start now")
    page.fill("#team", "North")
    page.check("input[name=role] >> nth=0")
    page.click("button:has-text('Continue')")
    page.wait_for_selector("text=Page 2 of 5")

    page.focus("input[name=culture_01] >> nth=0")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")

    assert page.locator("input[name=culture_01]:checked").get_attribute("value") == "3"
    statements = page.locator(".app-bipolar__statement").all_inner_texts()
    assert statements[0].startswith("Leaders")


def test_preview_works_with_javascript_off(browser, live_app):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_app)
    page.goto(live_app + CULTURE)
    page.click("text=Start now")

    page.click("button:has-text('Continue')")
    assert page.locator(".govuk-error-summary").is_visible()
    page.fill("#team", "<b>North</b>")
    page.check("input[name=role] >> nth=0")
    page.click("button:has-text('Continue')")

    assert page.locator("text=Page 2 of 5").is_visible()
    page.goto(live_app + CULTURE + "/check-answers")
    assert page.locator("dd:has-text('<b>North</b>')").is_visible()
    context.close()


def test_a_phone_sized_screen_needs_no_sideways_scrolling(browser, live_app):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    sign_in(page, live_app)
    page.goto(live_app + CULTURE)
    page.click("text=Start now")
    page.fill("#team", "North")
    page.check("input[name=role] >> nth=0")
    page.click("button:has-text('Continue')")
    page.wait_for_selector("text=Page 2 of 5")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    assert overflow <= 0
    context.close()
