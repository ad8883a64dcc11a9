"""Create and change a wave in Chromium: every field filled, roles and teams ticked, the count read.

The audience boxes once reached the browser as ``<option>`` tags outside any
``<select>``: nothing could be ticked and a mentors' wave went to everyone.
"""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from surveyapp.models import AuditEvent, Invitation, Programme, Wave
from tests.browser.conftest import sign_in
from tests.browser.test_journey import axe_violations
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave, stored_version

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


def fill_date(page, field: str, day_month_year: str) -> None:
    """Type a date into the three GOV.UK boxes, as a person would: "23 5 2030"."""
    for part, value in zip(("day", "month", "year"), day_month_year.split(), strict=True):
        page.fill(f"#{field}-{part}", value)


def _fill_wave(page, *, label: str) -> None:
    page.fill("#label", label)
    page.select_option(
        "#version", label="Action learning project: evaluation for mentors (version 1)"
    )
    fill_date(page, "opens_on", "2 5 2030")
    page.fill("#opens_time", "09:30")
    fill_date(page, "closes_on", "23 5 2030")
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


@pytest.mark.posts("/admin/programmes/<int:programme_id>/waves/new")
def test_in_an_american_browser_17_00_stays_17_00_and_the_wave_closes_at_5pm_uk_time(
    browser, live_server
):
    """A 12-hour-clock locale once showed 17:00 as "05:00" and dates as mm/dd/yyyy."""
    programme_id = _programme(live_server)
    context = browser.new_context(
        locale="en-US",
        timezone_id="America/New_York",
        bypass_csp=True,  # for axe
    )
    page = context.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/waves/new")

    form = page.locator("main form")
    assert form.locator("input[type=date], input[type=time]").count() == 0
    # Suggested: opening now (1pm in London), closing three weeks on at 17:00.
    assert page.input_value("#opens_time") == "13:00"
    assert page.input_value("#closes_time") == "17:00"
    assert [page.input_value(f"#closes_on-{part}") for part in ("day", "month", "year")] == [
        "22",
        "5",
        "2030",
    ]
    for box in ("Day", "Month", "Year"):
        assert page.get_attribute(f"#closes_on-{box.lower()}", "inputmode") == "numeric"
        assert page.locator(f"#closes_on label:has-text('{box}')").count() == 1

    _fill_wave(page, label="Endpoint")
    page.fill("#closes_time", "")
    page.type("#closes_time", "17:00")
    assert page.input_value("#closes_time") == "17:00"
    fill_date(page, "closes_on", "31 2 2030")  # no 31 February
    page.click("button:has-text('Create the wave and its links')")

    summary = page.locator(".govuk-error-summary")
    assert "Closing date must be a real date" in summary.inner_text()
    assert summary.locator("a").first.get_attribute("href") == "#closes_on-day"
    assert " ".join(page.inner_text("#closes_on-error").split()) == (
        "Error: Closing date must be a real date"
    )
    assert page.input_value("#closes_on-day") == "31"  # what was typed stays, to correct
    assert page.input_value("#closes_time") == "17:00"
    assert _saved(live_server, "Endpoint")[0] is None
    assert axe_violations(page, "Create a wave with a date error") == []

    fill_date(page, "closes_on", "28 2 2031")
    page.click("button:has-text('Create the wave and its links')")
    page.wait_for_selector(".govuk-notification-banner:has-text('Endpoint')")
    wave, _ = _saved(live_server, "Endpoint")
    assert wave.closes_at == datetime(2031, 2, 28, 17, 0)  # Greenwich Mean Time: 17:00 UTC
    assert wave.opens_at == datetime(2030, 5, 2, 8, 30)  # 09:30 British Summer Time
    assert "28 February 2031, 5:00pm" in page.inner_text("main")
    context.close()


def _wave_to_change(live_server, **overrides) -> int:
    """The mentors' wave of the APIR programme, opening in five days."""
    programme_id = _programme(live_server)
    with live_server.sessionmaker() as session:
        wave = make_wave(
            session,
            session.get(Programme, programme_id),
            key="mentor_evaluation",
            label="Mentors",
            audience={"role": ["Mentor"]},
            **{"opens_at": NOW + timedelta(days=5), "closes_at": NOW + timedelta(days=26)}
            | overrides,
        )
        session.commit()
        return wave.id


@pytest.mark.posts("/admin/waves/<int:wave_id>/edit")
def test_every_field_of_a_wave_is_changed_in_the_browser(browser, live_server):
    wave_id = _wave_to_change(live_server)
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/waves/{wave_id}")
    page.click("#change-wave")
    page.wait_for_selector("h1:has-text('Change Mentors')")
    assert page.is_checked("#role label:has-text('Mentor')")
    assert page.inner_text("#audience-count") == "3 people will be invited."

    page.fill("#label", "Mentors and set members")
    fill_date(page, "opens_on", "13 5 2030")
    page.fill("#opens_time", "08:45")
    fill_date(page, "closes_on", "7 6 2030")
    page.fill("#closes_time", "17:30")
    page.fill("#target_rate", "80")
    page.check("#role label:has-text('Set member')")
    page.check("#region label:has-text('London')")
    page.wait_for_selector("#audience-count:has-text('3 people')")  # any role, in London
    page.click("button:has-text('Save the changes')")
    page.wait_for_selector(".govuk-notification-banner")

    banner = page.inner_text(".govuk-notification-banner")
    assert "“Mentors and set members” is changed." in banner
    assert "2 people are no longer invited." in banner  # the two mentors in the South West
    assert "Role: Mentor, Set member; Region: London" in page.inner_text("main")
    assert "2 more people are invited." in banner  # the set members in London
    with live_server.sessionmaker() as session:
        wave = session.get(Wave, wave_id)
        assert wave.label == "Mentors and set members"
        assert (wave.opens_at, wave.closes_at) == (
            datetime(2030, 5, 13, 7, 45),  # 08:45 British Summer Time
            datetime(2030, 6, 7, 16, 30),
        )
        assert wave.target_rate == 80
        assert wave.audience == {"region": ["London"], "role": ["Mentor", "Set member"]}
        invited = sorted(i.participant.id_number for i in wave.invitations)
        assert invited == ["A003", "A005", "A006"]
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "wave.change"))
        assert "target 60% to 80%" in event.summary and "2 taken out" in event.summary
    context.close()


@pytest.mark.posts("/admin/waves/<int:wave_id>/edit")
def test_leaving_out_people_who_answered_is_refused_and_nothing_changes(browser, live_server):
    wave_id = _wave_to_change(live_server, opens_at=NOW - timedelta(days=1))
    with live_server.sessionmaker() as session:
        for invitation in session.get(Wave, wave_id).invitations:
            if invitation.participant.id_number in ("A001", "A002"):
                invitation.completed_at = NOW
        session.commit()
    context = browser.new_context(bypass_csp=True)  # for axe
    page = context.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/waves/{wave_id}/edit")
    assert page.locator("#opens_on-day").count() == 0  # it has opened: the opening stays
    assert "A wave that has opened keeps its opening date" in page.inner_text("#opened")
    assert axe_violations(page, "Change wave") == []

    page.fill("#label", "Renamed")
    page.uncheck("#role label:has-text('Mentor')")
    page.check("#role label:has-text('Set member')")
    page.fill("#target_rate", "0")
    page.click("button:has-text('Save the changes')")
    assert "The target must be between 1 and 100" in page.inner_text(".govuk-error-summary")

    page.fill("#target_rate", "70")
    page.click("button:has-text('Save the changes')")
    page.wait_for_selector(".govuk-error-summary:has-text('have answered')")
    summary = page.inner_text(".govuk-error-summary")
    assert "2 people have answered and would be left out of the new audience" in summary
    assert axe_violations(page, "Change wave, refused") == []
    with live_server.sessionmaker() as session:
        wave = session.get(Wave, wave_id)
        assert (wave.label, wave.target_rate, wave.audience) == (
            "Mentors",
            60,
            {"role": ["Mentor"]},
        )
        assert len(wave.invitations) == 3
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "wave.change")) is None
    context.close()
