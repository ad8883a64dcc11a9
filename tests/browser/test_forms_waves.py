"""Create a wave in Chromium: every field filled, roles and teams ticked, the count read.

The audience boxes once reached the browser as ``<option>`` tags outside any
``<select>``: nothing could be ticked and a mentors' wave went to everyone.
"""

from datetime import datetime

import pytest
from sqlalchemy import select

from surveyapp.models import Invitation, Wave
from tests.browser.conftest import sign_in
from tests.factories import make_participant, make_programme, stored_version

pytestmark = pytest.mark.browser

PEOPLE = [  # (role, team, region)
    ("Mentor", "North", "South West"),
    ("Mentor", "South", "South West"),
    ("Mentor", "East", "London"),
    ("Set member", "North", "South West"),
    ("Set member", "South", "London"),
    ("Set member", "East", "London"),
]


def _programme(live_server) -> int:
    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="APIR action learning")
        for number, (role, team, region) in enumerate(PEOPLE, start=1):
            make_participant(
                session, programme, id_number=f"A{number:03d}", role=role, team=team, region=region
            )
        stored_version(session, "mentor_evaluation")
        session.commit()
        return programme.id


def _fill_wave(page, *, label: str) -> None:
    page.fill("#label", label)
    page.select_option(
        "#version", label="Action learning project: evaluation for mentors (version 1)"
    )
    page.fill("#opens_on", "2030-05-02")
    page.fill("#opens_time", "09:30")
    page.fill("#closes_on", "2030-05-23")
    page.fill("#closes_time", "17:00")
    page.fill("#target_rate", "75")
    page.click("label:has-text('Identified')")


def _saved(live_server, label: str):
    with live_server.sessionmaker() as session:
        wave = session.scalar(select(Wave).where(Wave.label == label))
        if wave is None:
            return None, []
        invited = session.scalars(
            select(Invitation).where(Invitation.wave_id == wave.id).order_by(Invitation.id)
        ).all()
        return wave, sorted(invitation.participant.id_number for invitation in invited)


@pytest.mark.posts("/admin/programmes/<int:programme_id>/waves/new")
def test_a_mentor_wave_ticked_in_the_browser_goes_to_mentors_only(browser, live_server):
    programme_id = _programme(live_server)
    page = browser.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")
    page.click("a:has-text('Create a wave')")
    page.wait_for_selector("h1:has-text('Create a wave')")
    assert page.inner_text("#audience-count") == "6 people will be invited."
    assert page.locator("#audience input[type=checkbox]").count() == 2 + 3 + 2

    _fill_wave(page, label="Mentors' evaluation")
    page.check("label:has-text('Mentor')")
    page.wait_for_selector("#audience-count:has-text('3 people')")
    page.check("#team label:has-text('North')")
    page.check("#team label:has-text('South')")
    page.wait_for_selector("#audience-count:has-text('2 people')")
    assert page.locator("noscript button").count() == 1  # the count button is for no-JS only
    page.click("button:has-text('Create the wave and its links')")
    page.wait_for_selector(".govuk-notification-banner:has-text('with 2 invitation(s)')")

    assert "Role: Mentor; Team: North, South" in page.inner_text("main")
    wave, invited = _saved(live_server, "Mentors' evaluation")
    assert wave.audience == {"role": ["Mentor"], "team": ["North", "South"]}
    assert invited == ["A001", "A002"]
    assert (wave.opens_at, wave.closes_at) == (
        datetime(2030, 5, 2, 8, 30),  # 09:30 British Summer Time
        datetime(2030, 5, 23, 16, 0),
    )
    assert (wave.target_rate, wave.privacy) == (75, "identified")


@pytest.mark.posts("/admin/programmes/<int:programme_id>/waves/new")
def test_without_javascript_the_count_button_counts_and_a_blank_name_is_refused(
    browser, live_server
):
    programme_id = _programme(live_server)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/waves/new")
    page.check("#region label:has-text('London')")
    page.check("#role label:has-text('Set member')")
    page.click("button:has-text('Count who is invited')")
    assert page.inner_text("#audience-count") == "2 people will be invited."
    assert page.is_checked("#region label:has-text('London')")
    assert _saved(live_server, "")[0] is None

    _fill_wave(page, label="   ")
    page.click("label:has-text('Anonymous but tracked')")
    page.click("button:has-text('Create the wave and its links')")
    assert "Enter a name for the wave" in page.inner_text(".govuk-error-summary")
    with live_server.sessionmaker() as session:
        assert session.scalars(select(Wave)).all() == []

    page.fill("#label", "Set members")
    page.click("button:has-text('Create the wave and its links')")
    assert "with 2 invitation(s)" in page.inner_text(".govuk-notification-banner")
    wave, invited = _saved(live_server, "Set members")
    assert wave.audience == {"region": ["London"], "role": ["Set member"]}
    assert invited == ["A005", "A006"]
    assert wave.privacy == "anonymous"
    context.close()
