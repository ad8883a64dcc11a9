"""The evaluation after each session and the attendance bands, filled in Chromium."""

import pytest
from sqlalchemy import select

from surveyapp.models import DoseBands, EvaluationRule
from tests.browser.conftest import sign_in
from tests.factories import make_participant, make_programme, stored_version

pytestmark = pytest.mark.browser


def _programme(live_server) -> int:
    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="APIR action learning")
        make_participant(session, programme, id_number="A001")
        stored_version(session, "session_evaluation")
        session.commit()
        return programme.id


def _rules(live_server) -> list[EvaluationRule]:
    with live_server.sessionmaker() as session:
        return session.scalars(select(EvaluationRule).order_by(EvaluationRule.id)).all()


def _set_rule(page) -> None:
    page.select_option("#questionnaire_key", label="Session evaluation")
    page.select_option("#session_kind", label="Action learning set meeting")
    page.check("label:has-text('Those who attended')")
    page.fill("#opens_after_hours", "2")
    page.fill("#open_days", "10")
    page.check("label:has-text('Anonymous but tracked')")
    page.fill("#target_rate", "70")
    page.uncheck("#with_reminders")
    page.click("button:has-text('Save the evaluation')")


@pytest.mark.posts("/admin/programmes/<int:programme_id>/evaluations/rules/new")
def test_an_evaluation_after_each_session_is_set_in_the_browser(browser, live_server):
    programme_id = _programme(live_server)
    page = browser.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")
    page.click("a:has-text('Evaluation after each session')")
    page.click("a:has-text('Set an evaluation after each session')")

    page.fill("#open_days", "400")
    page.click("button:has-text('Save the evaluation')")
    assert "Enter a number of days from 1 to 365" in page.inner_text(".govuk-error-summary")
    assert _rules(live_server) == []
    _set_rule(page)

    page.wait_for_selector("#rules")
    (rule,) = _rules(live_server)
    assert (rule.questionnaire_key, rule.session_kind, rule.audience) == (
        "session_evaluation",
        "als_meeting",
        "attended",
    )
    assert (rule.opens_after_minutes, rule.open_days, rule.privacy, rule.target_rate) == (
        120,
        10,
        "anonymous",
        70,
    )
    assert rule.with_reminders is False
    assert "2 hours after the session ends" in page.inner_text("#rules")


@pytest.mark.posts("/admin/programmes/<int:programme_id>/evaluations/rules/<int:rule_id>")
@pytest.mark.posts("/admin/programmes/<int:programme_id>/evaluations/rules/<int:rule_id>/stop")
def test_a_rule_is_changed_then_stopped_in_the_browser(browser, live_server):
    programme_id = _programme(live_server)
    page = browser.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/evaluations/rules/new")
    _set_rule(page)
    page.wait_for_selector("#rules")

    page.click("#rules a:has-text('Change')")
    assert page.input_value("#open_days") == "10"
    page.select_option("#session_kind", label="Every session")
    page.check("label:has-text('Everyone expected')")
    page.fill("#opens_after_hours", "0")
    page.fill("#open_days", "7")
    page.check("label:has-text('Identified')")
    page.fill("#target_rate", "80")
    page.check("#with_reminders")
    page.click("button:has-text('Save the evaluation')")
    page.wait_for_selector("#rules")
    (rule,) = _rules(live_server)
    assert (rule.session_kind, rule.audience, rule.opens_after_minutes, rule.open_days) == (
        "",
        "expected",
        0,
        7,
    )
    assert (rule.privacy, rule.target_rate, rule.with_reminders) == ("identified", 80, True)

    page.click("#rules button:has-text('Stop')")
    page.wait_for_selector("#rules .govuk-tag:has-text('Stopped')")
    assert _rules(live_server)[0].stopped_at is not None


@pytest.mark.posts("/admin/programmes/<int:programme_id>/evaluations/bands")
def test_attendance_and_mentoring_bands_are_set_in_the_browser(browser, live_server):
    programme_id = _programme(live_server)
    page = browser.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/evaluations")
    page.click("a:has-text('Set the bands')")

    page.fill("#attendance", "0-4: fewer than 5 of 7\n6 or more: 6 or more of 7")
    page.click("button:has-text('Save the bands')")
    assert "line 2" in page.inner_text(".govuk-error-summary")
    page.fill("#attendance", "0-4: fewer than 5 of 7\n5 or more: 5 or more of 7")
    page.fill("#mentoring", "0-2: fewer than 3\n3 or more: 3 or more mentoring sessions")
    page.select_option("#mentoring_kind", label="Mentoring session")
    page.click("button:has-text('Save the bands')")

    page.wait_for_selector("#bands")
    assert "5 or more of 7" in page.inner_text("#bands")
    with live_server.sessionmaker() as session:
        bands = session.get(DoseBands, programme_id)
        assert bands.attendance == [[0, 4, "fewer than 5 of 7"], [5, None, "5 or more of 7"]]
        assert bands.mentoring == [
            [0, 2, "fewer than 3"],
            [3, None, "3 or more mentoring sessions"],
        ]
        assert bands.mentoring_kind == "mentoring"
