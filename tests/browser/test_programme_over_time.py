"""Seed 001's journey in Chromium: bands and an evaluation rule set, a meeting added and
its register kept, the scheduled step making the meeting's evaluation, a set member
answering it, and outcomes read by attendance.

Six earlier meetings are arranged in the database: five members came to four of them
and five to two, so whoever is ticked at the seventh moves into "5 or more of 7".
"""

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from surveyapp.models import (
    Answer,
    Attendance,
    Invitation,
    Participant,
    ProgrammeSession,
    Response,
    Wave,
)
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.scoring import outcomes
from surveyapp.scoring.scales import scale_info
from tests.browser.conftest import sign_in
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave, stored_version
from tests.scoring.builders import submit_all

pytestmark = pytest.mark.browser

FREQUENT = [f"A{n:02d}" for n in range(1, 6)]  # came to 4 of the first six
SELDOM = [f"A{n:02d}" for n in range(6, 11)]  # came to 2 of the first six


def _arrange(live_server) -> int:
    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="APIR action learning", reporting_threshold=5)
        people = [
            make_participant(
                session, programme, id_number=number, name=f"Member {number}",
                team="West set", region="West", organisation="Bristol", role="Set member",
            )
            for number in FREQUENT + SELDOM
        ]  # fmt: skip
        stored_version(session, "session_evaluation")
        for number in range(6):
            starts = NOW - timedelta(days=70 - number * 10)
            meeting = ProgrammeSession(
                programme=programme, kind="als_meeting", group="West", starts_at=starts,
                ends_at=starts + timedelta(hours=3), expected={"group": True},
                created_at=NOW, updated_at=NOW,
            )  # fmt: skip
            session.add(meeting)
            for person in people:
                came = number < (4 if person.id_number in FREQUENT else 2)
                session.add(
                    Attendance(session=meeting, participant=person, attended=came, recorded_at=NOW)
                )
        baseline = make_wave(
            session, programme, key="peer_support_baseline", label="Baseline",
            opens_at=NOW - timedelta(days=80), closes_at=NOW - timedelta(days=75),
        )  # fmt: skip
        endpoint = make_wave(
            session, programme, key="peer_support_endpoint", label="Endpoint",
            opens_at=NOW - timedelta(days=2), closes_at=NOW + timedelta(days=20),
        )  # fmt: skip
        (confidence,) = [
            info
            for info in scale_info(questionnaire_of(baseline.questionnaire_version))
            if info.id == "part_d_confidence"
        ]
        submit_all(session, baseline, lambda person: dict.fromkeys(confidence.items, 2))
        # Those who came more gained more; every other person a point more again.
        submit_all(
            session,
            endpoint,
            lambda person: dict.fromkeys(
                confidence.items,
                2 + (person.id_number in FREQUENT) + int(person.id_number[1:]) % 2,
            ),
        )
        session.commit()
        return programme.id


def _answer_every_page(page, questionnaire) -> None:
    """Answer whatever pages the server shows, through the inputs, then send."""
    pages = {p.title: p for p in questionnaire.pages}
    expect(page.locator("h1")).to_have_text(questionnaire.pages[0].title)
    for _ in range(len(pages) + 1):
        heading = page.inner_text("h1")
        if heading not in pages:
            break
        for item in pages[heading].items:
            if item.type == "matrix":
                for row in item.rows:
                    page.check(f"input[name='{row.id}'][value='{item.options[-2].code}']")
            elif item.type in ("single_choice", "likert"):
                page.check(f"input[name='{item.id}'][value='{item.options[0].code}']")
            elif item.type == "number":
                page.fill(f"input[name='{item.id}']", str(int(item.min or 1)))
            elif item.type in ("long_text", "short_text"):
                page.fill(f"[name='{item.id}']", "Time to think with people who face the same.")
        page.click("button:has-text('Continue')")
        expect(page.locator("h1")).not_to_have_text(heading)
    page.click("button:has-text('Send my answers')")


@pytest.mark.posts(
    "/admin/programmes/<int:programme_id>/evaluations/bands",
    "/admin/programmes/<int:programme_id>/evaluations/rules/new",
    "/admin/programmes/<int:programme_id>/sessions/new",
    "/admin/programmes/<int:programme_id>/sessions/<int:session_id>/register",
    "/admin/programmes/<int:programme_id>/sessions/<int:session_id>/register/<int:participant_id>",
)
def test_sessions_a_register_the_evaluation_after_it_and_outcomes_by_attendance(
    browser, live_server
):
    programme_id = _arrange(live_server)
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")

    # The bands the evaluators read outcomes in, and the evaluation after each meeting.
    page.click("a:has-text('Evaluation after each session')")
    page.click("a:has-text('Set the bands')")
    page.fill("#attendance", "0-4: fewer than 5 of 7\n5 or more: 5 or more of 7")
    page.fill("#mentoring", "0-2: fewer than 3 mentoring sessions\n3 or more: 3 or more")
    page.click("button:has-text('Save the bands')")
    expect(page.locator("#bands")).to_contain_text("5 or more of 7")
    page.click("a:has-text('Set an evaluation after each session')")
    page.select_option("#questionnaire_key", label="Session evaluation")
    page.select_option("#session_kind", label="Action learning set meeting")
    page.check("label:has-text('Those who attended')")
    page.fill("#opens_after_hours", "2")
    page.fill("#open_days", "14")
    page.check("label:has-text('Identified')")
    page.fill("#target_rate", "80")
    page.check("#with_reminders")
    page.click("button:has-text('Save the evaluation')")
    expect(page.locator("#rules")).to_contain_text("2 hours after the session ends")

    # The seventh meeting, yesterday morning (NOW is 1 May 2030, noon).
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")
    page.click("a:has-text('Sessions and attendance')")
    page.click("a:has-text('Add a session')")
    page.check("label:has-text('Action learning set meeting')")
    page.fill("#group", "West")
    page.fill("#title", "Seventh meeting")
    page.fill("#day", "30")
    page.fill("#month", "4")
    page.fill("#year", "2030")
    page.fill("#starts", "09:30")
    page.fill("#ends", "12:00")
    page.check("#expect_group")
    page.click("button:has-text('Add the session')")
    expect(page.locator(".govuk-error-summary")).to_contain_text("has passed")
    page.check("#confirm_past")
    page.click("button:has-text('Add the session')")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Session added: Action learning set meeting (West), 30 April 2030, 09:30 to 12:00."
    )

    # The register: the five frequent members came (each tick saves as it is made).
    page.click("#sessions tr:has-text('30 April 2030') a:has-text('Register')")
    expect(page.locator("#register tbody tr")).to_have_count(10)
    for number in FREQUENT:
        page.check(f"label:has-text('Member {number} came')")
        expect(page.locator(f"#register tr:has-text('Member {number}')")).to_contain_text(
            "Saved: came"
        )
    page.click("button:has-text('Save the register')")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Register saved: 5 came."
    )

    # The scheduled step (cron runs it) makes the meeting's evaluation, for those who came.
    result = live_server.app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    label = "Action learning set meeting, West, 30 April 2030: evaluation"
    assert f"Made “{label}” (5 invited)" in result.output
    again = live_server.app.test_cli_runner().invoke(args=["reminders", "send"])
    assert "Made" not in again.output
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")
    expect(page.locator("#session-waves tbody tr")).to_have_count(1)
    page.click(f"#session-waves a:has-text('{label}')")
    expect(page.locator("h1")).to_contain_text(label)

    # A member who came answers it from their personal link.
    with live_server.sessionmaker() as session:
        wave = session.scalar(select(Wave).where(Wave.label == label))
        invited = {i.participant.id_number: i.token for i in wave.invitations}
        questionnaire = questionnaire_of(wave.questionnaire_version)
        wave_id = wave.id
    assert sorted(invited) == FREQUENT
    participant = browser.new_context().new_page()
    participant.goto(f"{live_server.url}/r/{invited['A01']}")
    expect(participant.locator("main")).to_contain_text("Action learning set meeting")
    expect(participant.locator("main")).to_contain_text("30 April 2030")
    participant.click("text=Start now")
    _answer_every_page(participant, questionnaire)
    expect(participant.locator("h1")).to_contain_text("Thank you")
    with live_server.sessionmaker() as session:
        (response,) = session.scalars(select(Response).where(Response.wave_id == wave_id)).all()
        useful = session.scalar(
            select(Answer.value).where(
                Answer.response_id == response.id, Answer.answer_id == "s_useful"
            )
        )
        answered = session.scalar(
            select(Participant.id_number)
            .join(Invitation, Invitation.participant_id == Participant.id)
            .where(Invitation.wave_id == wave_id, Invitation.completed_on.is_not(None))
        )
    assert answered == "A01" and useful == 4 and response.participant_id is not None
    participant.context.close()

    # Outcomes by attendance, as the evaluator reads them.
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")
    page.click("a:has-text('Outcomes by attendance')")
    page.select_option("#endpoint", label="Endpoint")
    page.select_option("#baseline", label="Baseline")
    page.select_option("#by", label="Attendance bands")
    page.click("button:has-text('Show')")
    table = page.locator("#scale-part_d_confidence table")
    expect(table.locator("tr:has-text('5 or more of 7')")).to_contain_text("5")
    with live_server.sessionmaker() as session:
        from surveyapp.models import Programme

        programme = session.get(Programme, programme_id)
        waves = {wave.label: wave for wave in programme.waves}
        read = outcomes.outcomes_by_attendance(
            session, programme, waves["Endpoint"], waves["Baseline"], threshold=5
        )
    rows = {
        row.band: row for row in next(s for s in read.scales if s.scale == "part_d_confidence").rows
    }
    assert (rows["fewer than 5 of 7"].n, rows["5 or more of 7"].n) == (5, 5)
    often = table.locator("tr:has-text('5 or more of 7') td")
    expect(often.nth(0)).to_have_text("5")
    expect(often.nth(4)).to_have_text(f"{rows['5 or more of 7'].mean_change:.2f}")
    seldom = table.locator("tr:has-text('fewer than 5 of 7') td")
    expect(seldom.nth(4)).to_have_text(f"{rows['fewer than 5 of 7'].mean_change:.2f}")
    assert rows["5 or more of 7"].mean_change > rows["fewer than 5 of 7"].mean_change
    expect(page.locator("#slope-part_d_confidence")).to_contain_text(
        "Slope of change on sessions attended:"
    )
    assert errors == []
    context.close()
