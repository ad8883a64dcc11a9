"""Create a wave in Chromium at the clocks' change: refused when the time does not exist, told
which instant was taken when it happens twice."""

from datetime import datetime

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_forms_waves import _programme, _saved, fill_date

pytestmark = pytest.mark.browser


@pytest.mark.posts("/admin/programmes/<int:programme_id>/waves/new")
def test_a_wave_at_the_clocks_change_is_refused_then_told_which_instant(browser, live_server):
    programme_id = _programme(live_server)
    page = browser.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/waves/new")
    page.fill("#label", "Night shift")
    page.select_option(
        "#version", label="Action learning project: evaluation for mentors (version 1)"
    )
    fill_date(page, "opens_on", "30 3 2031")
    page.fill("#opens_time", "01:30")
    fill_date(page, "closes_on", "26 10 2031")
    page.fill("#closes_time", "01:30")
    page.fill("#target_rate", "70")
    page.click("label:has-text('Identified')")
    page.click("button:has-text('Create the wave and its links')")

    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert (
        "Opening time: 01:30 on 30 March 2031 does not exist in UK time: clocks go forward "
        "from 01:00 to 02:00. Enter another time" in summary.inner_text()
    )
    assert _saved(live_server, "Night shift")[0] is None

    page.fill("#opens_time", "02:30")
    page.click("button:has-text('Create the wave and its links')")
    page.wait_for_selector(".govuk-notification-banner:has-text('invitation(s)')")

    assert (
        "Closing time: 01:30 on 26 October 2031 happens twice in UK time, as clocks go back "
        "from 02:00 to 01:00: the first, 01:30 BST, was taken, an hour before 01:30 GMT."
        in page.inner_text("main")
    )
    wave, invited = _saved(live_server, "Night shift")
    assert (wave.opens_at, wave.closes_at) == (
        datetime(2031, 3, 30, 1, 30),  # 02:30 BST
        datetime(2031, 10, 26, 0, 30),  # the first 01:30, in BST
    )
    assert (wave.target_rate, wave.privacy, len(invited)) == (70, "identified", 6)
