"""An evaluator in Chromium: the data-quality page, then results and a file without speeders."""

import pyreadstat
import pytest

from surveyapp.staff import access
from surveyapp.staff import operations as accounts
from tests.browser.conftest import sign_in
from tests.conftest import NOW, PASSWORD
from tests.quality.test_exports import timed_wave

pytestmark = pytest.mark.browser


def test_an_evaluator_leaves_out_the_speeders_on_the_page_and_in_the_file(
    browser, live_server, tmp_path
):
    with live_server.sessionmaker() as session:
        # Five of North sped: a group big enough to leave out safely.
        wave, _people = timed_wave(session, speeders=5, teams={"North": 10, "South": 5})
        evaluator = accounts.create_user(
            session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
        )
        access.set_membership(session, evaluator, {wave.programme_id})
        session.commit()
        wave_id = wave.id
    page = browser.new_page()
    sign_in(page, live_server.url, "eva@example.org")

    page.goto(f"{live_server.url}/admin/waves/{wave_id}/results")
    page.click("#results-links >> text=Data quality")
    page.wait_for_url(f"**/admin/waves/{wave_id}/quality")
    speeding = page.locator("#quality-flags tr:has-text('Speeding') td").first
    assert speeding.inner_text() == "5"
    page.click("text=Back to the results")
    page.wait_for_url(f"**/admin/waves/{wave_id}/results")

    # The form as a person fills it: a breakdown, a rule ticked, Show.
    page.select_option("#by", "team")
    page.check("#exclude-speeding")
    page.click("button:has-text('Show')")
    page.wait_for_url("**exclude=speeding**")
    note = page.locator("#exclusion-note").inner_text()
    assert "5 responses flagged for speeding are left out" in note
    assert page.locator("#exclude-speeding").is_checked()
    assert not page.locator("#exclude-partial").is_checked()
    everyone = page.locator("#scale-grid_mean tbody tr").first.locator("td").first
    assert everyone.inner_text() == "10"

    page.check("input[name=format][value=sav]")
    with page.expect_download() as download:
        page.click("button:has-text('Download the data')")
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    frame, meta = pyreadstat.read_sav(str(target))
    assert target.name.endswith("_flagged_left_out.sav")
    assert len(frame) == 10 and int(frame["dq_speeding"].sum()) == 0
    assert "5 responses flagged for speeding are left out" in " ".join(meta.notes)
