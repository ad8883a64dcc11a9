"""The evaluation after each session: one wave a session, made by the scheduled command."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.evaluations import operations as evaluation
from surveyapp.models import Attendance, EvaluationRule, Invitation, ProgrammeSession, Wave
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, stored_version


def _session(db, programme, *, days_ago=1, kind="als_meeting", group="West", expected=None):
    starts = NOW - timedelta(days=days_ago, hours=3)
    programme_session = ProgrammeSession(
        programme=programme,
        kind=kind,
        group=group,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        expected=expected or {},
        created_at=NOW - timedelta(days=30),
        updated_at=NOW - timedelta(days=30),
    )
    db.add(programme_session)
    db.flush()
    return programme_session


def _tick(db, programme_session, people, attended=True):
    for person in people:
        db.add(
            Attendance(
                session=programme_session,
                participant_id=person.id,
                attended=attended,
                recorded_at=NOW,
            )
        )
    db.flush()


def _rule(db, programme, **overrides):
    stored_version(db, "session_evaluation")
    values = dict(
        questionnaire_key="session_evaluation",
        session_kind="als_meeting",
        audience="attended",
        opens_after_hours=2,
        open_days=14,
        privacy="identified",
        target_rate=60,
        with_reminders=True,
        now=NOW - timedelta(days=40),
    )
    return evaluation.save_rule(db, programme, **(values | overrides))


@pytest.fixture
def programme_with_people(session):
    programme = make_programme(session, name="Action learning")
    people = [make_participant(session, programme, team="West") for _ in range(4)]
    return programme, people


def test_each_session_gets_one_wave_of_those_who_came_however_often_it_runs(
    session, programme_with_people
):
    programme, people = programme_with_people
    _rule(session, programme)
    first = _session(session, programme, days_ago=8)
    second = _session(session, programme, days_ago=1)
    _tick(session, first, people[:3])
    _tick(session, first, people[3:], attended=False)
    _tick(session, second, people[:2])
    session.commit()

    made = evaluation.make_due_waves(session, now=NOW)
    session.commit()
    again = evaluation.make_due_waves(session, now=NOW + timedelta(minutes=5))
    session.commit()

    assert len(made.made) == 2 and again.made == []
    waves = session.scalars(select(Wave).order_by(Wave.opens_at)).all()
    assert [wave.session_id for wave in waves] == [first.id, second.id]
    assert waves[0].opens_at == first.ends_at + timedelta(hours=2)
    assert waves[0].closes_at == waves[0].opens_at + timedelta(days=14)
    assert [len(wave.invitations) for wave in waves] == [3, 2]
    assert waves[1].label.startswith("Action learning set meeting, West, ")
    assert waves[1].evaluation_rule_id is not None


def test_two_machines_at_once_make_one_wave(app, session, programme_with_people, monkeypatch):
    """The other machine commits its wave while this one is making the same session's."""
    programme, people = programme_with_people
    _rule(session, programme)
    _tick(session, _session(session, programme), people)
    session.commit()
    real = evaluation.people_to_ask
    raced = []

    def the_other_machine_first(db, rule, programme_session):
        if not raced:
            raced.append(True)
            with app.extensions["surveyapp.sessionmaker"]() as other:
                made = evaluation.make_due_waves(other, now=NOW)
                other.commit()
                assert len(made.made) == 1
        return real(db, rule, programme_session)

    monkeypatch.setattr(evaluation, "people_to_ask", the_other_machine_first)
    with app.extensions["surveyapp.sessionmaker"]() as this:
        report = evaluation.make_due_waves(this, now=NOW)
        this.commit()

    assert report.made == [] and report.raced == 1
    assert session.scalar(select(func.count(Wave.id))) == 1


def test_the_wave_for_those_who_came_waits_for_the_register_and_takes_late_ticks(
    session, programme_with_people
):
    programme, people = programme_with_people
    _rule(session, programme)
    meeting = _session(session, programme)
    session.commit()

    waiting = evaluation.make_due_waves(session, now=NOW)
    assert waiting.made == [] and waiting.waiting == [meeting]

    _tick(session, meeting, people[:1])
    assert len(evaluation.make_due_waves(session, now=NOW).made) == 1
    _tick(session, meeting, people[1:2])
    late = evaluation.make_due_waves(session, now=NOW + timedelta(hours=1))
    session.commit()

    assert late.invited_late == 1
    assert session.scalar(select(func.count(Invitation.id))) == 2


def test_everyone_expected_is_asked_when_the_rule_says_so(session, programme_with_people):
    programme, people = programme_with_people
    make_participant(session, programme, team="East")
    _rule(session, programme, audience="expected", session_kind="")
    _session(session, programme, kind="Launch event", group="West", expected={"group": True})
    session.commit()

    made = evaluation.make_due_waves(session, now=NOW)

    assert [len(wave.invitations) for wave in made.made] == [4]


def test_no_wave_before_it_opens_after_it_would_close_or_for_another_kind(
    session, programme_with_people
):
    programme, people = programme_with_people
    _rule(session, programme, opens_after_hours=48, open_days=3)
    for days_ago, kind in ((1, "als_meeting"), (10, "als_meeting"), (3, "mentoring")):
        _tick(session, _session(session, programme, days_ago=days_ago, kind=kind), people)
    session.commit()

    assert evaluation.make_due_waves(session, now=NOW).made == []


def test_a_withdrawn_questionnaire_makes_no_wave_and_says_so(session, programme_with_people):
    programme, people = programme_with_people
    rule = _rule(session, programme)
    rule.questionnaire_key = "retired_questionnaire"
    _tick(session, _session(session, programme), people)
    session.commit()

    report = evaluation.make_due_waves(session, now=NOW)

    assert report.made == []
    assert "“retired_questionnaire”" in report.problems[0]
    with pytest.raises(evaluation.RuleProblem) as refused:
        _rule(session, programme, questionnaire_key="retired_questionnaire")
    assert refused.value.field == "questionnaire_key"


def test_the_scheduled_command_makes_the_waves_once(app, session, programme_with_people):
    programme, people = programme_with_people
    _rule(session, programme)
    _tick(session, _session(session, programme), people)
    session.commit()
    runner = app.test_cli_runner()

    first = runner.invoke(args=["reminders", "send"])
    second = runner.invoke(args=["reminders", "send"])

    assert first.exit_code == 0, first.output
    assert "Made “Action learning set meeting, West, " in first.output
    assert "(4 invited)" in first.output
    assert "Made" not in second.output
    assert session.scalar(select(func.count(Wave.id))) == 1


def test_the_start_page_names_the_session(app, session, client, programme_with_people):
    programme, people = programme_with_people
    _rule(session, programme)
    earlier = _session(session, programme, days_ago=8)
    meeting = _session(session, programme, days_ago=1)
    _session(session, programme, days_ago=-6)  # still to come: the series has three
    _tick(session, meeting, people[:1])
    session.commit()
    wave = evaluation.make_due_waves(session, now=NOW).made[0]
    session.commit()
    assert earlier.id != wave.session_id

    client.get(f"/r/{wave.invitations[0].token}")
    page = client.get("/r/")

    day = evaluation.session_facts(session, meeting).day_text
    assert "This asks about the action learning set meeting of West on " + day in page.text
    assert "session 2 of 3" in page.text


def test_the_rule_form_refuses_what_cannot_work_and_saves_nothing(
    session, client, auth, programme_with_people
):
    programme, _ = programme_with_people
    stored_version(session, "session_evaluation")
    session.commit()
    auth.login()
    url = f"/admin/programmes/{programme.id}/evaluations/rules/new"

    refused = client.post(
        url,
        data={
            "questionnaire_key": "session_evaluation",
            "session_kind": "als_meeting",
            "audience": "attended",
            "opens_after_hours": "1000",
            "open_days": "0",
            "privacy": "identified",
            "target_rate": "60",
        },
    )

    assert refused.status_code == 422
    assert "Enter a number of hours from 0 to 720" in refused.text
    assert "Enter a number of days from 1 to 365" in refused.text
    assert session.scalar(select(func.count(EvaluationRule.id))) == 0
