"""The retention date: set on the programme, applied by ``flask retention apply``; and the
audit events of the other commands that change things."""

import ast
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from surveyapp import PROJECT_ROOT
from surveyapp.exports import export_wave
from surveyapp.models import (
    AuditEvent,
    Invitation,
    Message,
    Participant,
    Programme,
    ReminderStep,
    Response,
)
from surveyapp.questionnaires.catalogue import questionnaire_of
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave
from tests.participant import complete


def _audit(session, action=None):
    session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return session.scalars(query).all()


@pytest.fixture
def cohorts(app, session, runner):
    """Kent's retention date passed yesterday (UK time); Essex's is today; Surrey has none."""
    kent = make_programme(session, name="Kent", contact_retention_until=date(2030, 4, 30))
    essex = make_programme(session, name="Essex", contact_retention_until=date(2030, 5, 1))
    surrey = make_programme(session, name="Surrey")
    people = {}
    for programme in (kent, essex, surrey):
        for n in (1, 2):
            people[programme.name, n] = make_participant(
                session,
                programme,
                id_number=f"{programme.name[0]}-{n}",
                name=f"{programme.name} Person {n}",
                email=f"{programme.name.lower()}{n}@example.org",
                attributes={"Phone": "01632 960001"},
            )
    waves = {
        programme.name: make_wave(session, programme, label="Baseline")
        for programme in (kent, essex, surrey)
    }
    session.commit()
    assert runner.invoke(args=["reminders", "send"]).exit_code == 0
    token = session.scalar(
        select(Invitation.token).where(Invitation.participant_id == people["Kent", 1].id)
    )
    complete(app.test_client(), token, questionnaire_of(waves["Kent"].questionnaire_version))
    # A reminder still waiting in the outbox for Kent's second person.
    invitation = session.scalar(
        select(Invitation).where(Invitation.participant_id == people["Kent", 2].id)
    )
    step = session.scalar(
        select(ReminderStep).where(
            ReminderStep.wave_id == waves["Kent"].id, ReminderStep.position == 2
        )
    )
    session.add(
        Message(
            wave_id=waves["Kent"].id,
            step_id=step.id,
            invitation_id=invitation.id,
            to_address="kent2@example.org",
            subject="Kent, a reminder",
            body="Dear Kent Person 2",
            state="queued",
            queued_at=NOW,
        )
    )
    session.commit()
    return SimpleNamespace(
        kent=kent, essex=essex, surrey=surrey, people=people, waves=waves, token=token
    )


def _person(session, cohorts, key):
    session.expire_all()
    return session.get(Participant, cohorts.people[key].id)


def test_retention_removes_contact_details_where_the_date_has_passed(runner, session, cohorts):
    result = runner.invoke(args=["retention", "apply"])

    assert result.exit_code == 0, result.output
    for n in (1, 2):
        person = _person(session, cohorts, ("Kent", n))
        assert (person.name, person.email, person.attributes) == ("", "", {})
        assert person.contact_removed_at == NOW
        assert person.id_number == f"K-{n}" and person.team == "North"
        assert person.erased_at is None
    for key in (("Essex", 1), ("Surrey", 2)):
        person = _person(session, cohorts, key)
        assert person.email and person.name and person.contact_removed_at is None
    assert "Kent (retention date 30 April 2030)" in result.output
    assert "the contact details of 2 participant(s); 3 email(s) blanked, 1 unsent" in result.output
    assert "Essex" not in result.output and "Surrey" not in result.output


def test_retention_keeps_answers_and_the_export_keyed_by_id_number(runner, session, cohorts):
    before = export_wave(
        session, cohorts.waves["Kent"], file_format="csv", layout="wide", for_evaluator=False
    ).content

    runner.invoke(args=["retention", "apply"])

    session.expire_all()
    assert session.scalar(select(func.count(Response.id))) == 1
    after = export_wave(
        session, cohorts.waves["Kent"], file_format="csv", layout="wide", for_evaluator=False
    ).content
    assert after == before and b"K-1" in after


def test_retention_blanks_emails_and_cancels_those_not_sent(runner, session, cohorts):
    runner.invoke(args=["retention", "apply"])

    session.expire_all()
    kent = session.scalars(
        select(Message)
        .join(Invitation)
        .join(Participant)
        .where(Participant.programme_id == cohorts.kent.id)
    ).all()
    assert len(kent) == 3
    assert {(m.to_address, m.body) for m in kent} == {("", "")}
    assert sorted(m.state for m in kent) == ["cancelled", "sent", "sent"]
    cancelled = next(m for m in kent if m.state == "cancelled")
    assert cancelled.last_error == "Not sent: their contact details were removed."
    others = session.scalars(
        select(Message)
        .join(Invitation)
        .join(Participant)
        .where(Participant.programme_id != cohorts.kent.id)
    ).all()
    assert others and all(m.to_address and m.body for m in others)


def test_a_dry_run_says_what_it_would_do_and_changes_nothing(runner, session, cohorts):
    events = len(_audit(session))

    result = runner.invoke(args=["retention", "apply", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "Kent (retention date 30 April 2030): would remove the contact details of 2" in (
        result.output
    )
    assert "3 email(s) blanked, 1 unsent email(s) cancelled" in result.output
    assert "Nothing was changed" in result.output
    assert _person(session, cohorts, ("Kent", 1)).email == "kent1@example.org"
    assert session.scalar(select(func.count(Message.id)).where(Message.state == "queued")) == 1
    assert len(_audit(session)) == events


def test_a_second_run_does_nothing(runner, session, cohorts):
    runner.invoke(args=["retention", "apply"])
    events = len(_audit(session))

    again = runner.invoke(args=["retention", "apply"])

    assert again.exit_code == 0
    assert "Nothing to do" in again.output
    assert len(_audit(session)) == events


def test_each_programme_done_writes_one_audit_event_without_names(runner, session, cohorts):
    runner.invoke(args=["retention", "apply"])

    (event,) = _audit(session, "retention.apply")
    assert event.actor == "command line" and event.actor_id is None
    assert event.programme_id == cohorts.kent.id
    assert "2 participant(s)" in event.summary
    texts = " ".join(e.summary for e in _audit(session))
    for secret in ("Kent Person", "kent1@", "01632", cohorts.token):
        assert secret not in texts


def test_today_is_the_uk_date_not_the_utc_date(make_app, session, cohorts):
    # 23:30 UTC on 30 April is 00:30 on 1 May in London (summer time): 30 April has passed.
    late = make_app(CLOCK=lambda: datetime(2030, 4, 30, 23, 30))
    early = make_app(CLOCK=lambda: datetime(2030, 4, 29, 22, 30))  # 23:30 on 29 April in London

    too_early = early.test_cli_runner().invoke(args=["retention", "apply"])
    in_time = late.test_cli_runner().invoke(args=["retention", "apply"])

    assert "Nothing to do" in too_early.output
    assert "Kent" in in_time.output
    assert _person(session, cohorts, ("Kent", 1)).email == ""


def test_details_loaded_again_after_the_date_are_removed_by_the_next_run(runner, session, cohorts):
    runner.invoke(args=["retention", "apply"])
    person = _person(session, cohorts, ("Kent", 1))
    person.name, person.email = "Kent Person 1", "kent1@example.org"
    session.commit()

    again = runner.invoke(args=["retention", "apply"])

    assert "the contact details of 1 participant(s)" in again.output
    assert _person(session, cohorts, ("Kent", 1)).email == ""


def test_nobody_without_contact_details_is_queued_or_sent_anything(runner, session, cohorts):
    runner.invoke(args=["retention", "apply"])
    wave = make_wave(session, cohorts.kent, label="Midterm")
    session.commit()

    result = runner.invoke(args=["reminders", "send"])

    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.scalar(select(func.count(Message.id)).where(Message.wave_id == wave.id)) == 0
    assert session.scalar(select(func.count(Message.id)).where(Message.to_address == "")) == 3
    assert (
        session.scalar(
            select(func.count(Message.id)).where(Message.state.in_(["queued", "sending"]))
        )
        == 0
    )


def test_a_message_whose_address_was_removed_is_cancelled_not_sent(runner, session, cohorts):
    # Queued before the retention date passed, with the address blanked since.
    message = session.scalar(select(Message).where(Message.state == "queued"))
    message.to_address = ""
    session.commit()

    result = runner.invoke(args=["reminders", "send"])

    assert result.exit_code == 0, result.output
    session.expire_all()
    message = session.get(Message, message.id)
    assert message.state == "cancelled"
    assert message.sent_at is None


def test_removed_people_are_shown_plainly_in_the_participant_list(
    client, auth, runner, session, cohorts
):
    runner.invoke(args=["retention", "apply"])
    auth.login()

    listing = client.get(f"/admin/programmes/{cohorts.kent.id}/participants").text
    person = client.get(
        f"/admin/programmes/{cohorts.kent.id}/participants/{cohorts.people['Kent', 1].id}"
    ).text

    assert listing.count("Contact details removed on 1 May 2030") == 2
    assert "No contact details" in listing and "Kent Person" not in listing
    assert "Contact details removed on 1 May 2030" in person and "K-1" in person


# -- the retention date on the programme ------------------------------------------------


def _programme_form(**changes):
    return {
        "name": "Kent",
        "run_by": "The evaluation team",
        "description": "",
        "reporting_threshold": "5",
        "contact_retention_until": "",
    } | changes


def test_a_retention_date_is_saved_and_shown_on_the_programme(client, auth, session):
    programme = make_programme(session, name="Kent")
    session.commit()
    auth.login()

    saved = client.post(
        f"/admin/programmes/{programme.id}/edit",
        data=_programme_form(contact_retention_until="2031-03-31"),
    )

    assert saved.status_code == 303, saved.text
    session.expire_all()
    assert session.get(Programme, programme.id).contact_retention_until == date(2031, 3, 31)
    page = client.get(f"/admin/programmes/{programme.id}").text
    assert "removed after 31 March 2031, the retention date" in page
    form = client.get(f"/admin/programmes/{programme.id}/edit").text
    assert 'value="2031-03-31"' in form and "Remove contact details after" in form


def test_a_date_typed_in_british_order_is_understood(client, auth, session):
    auth.login()

    created = client.post(
        "/admin/programmes/new", data=_programme_form(contact_retention_until="31/03/2031")
    )

    assert created.status_code == 303, created.text
    programme = session.scalar(select(Programme).where(Programme.name == "Kent"))
    assert programme.contact_retention_until == date(2031, 3, 31)


def test_a_date_that_is_not_real_is_refused_in_plain_words(client, auth, session):
    auth.login()

    refused = client.post(
        "/admin/programmes/new", data=_programme_form(contact_retention_until="31/02/2031")
    )

    assert refused.status_code == 422
    assert "Enter a real date, like 31/03/2031" in refused.text
    assert session.scalar(select(func.count(Programme.id))) == 0


def test_a_date_in_the_past_must_be_confirmed(client, auth, session):
    programme = make_programme(session, name="Kent")
    session.commit()
    auth.login()
    url = f"/admin/programmes/{programme.id}/edit"

    asked = client.post(url, data=_programme_form(contact_retention_until="2030-04-01"))
    session.expire_all()
    unchanged = session.get(Programme, programme.id).contact_retention_until
    confirmed = client.post(
        url,
        data=_programme_form(contact_retention_until="2030-04-01", confirm_past_retention="y"),
    )

    assert asked.status_code == 422
    assert "1 April 2030 has passed" in asked.text
    assert "Yes, remove everyone&#39;s contact details" in asked.text
    assert unchanged is None
    assert confirmed.status_code == 303
    session.expire_all()
    assert session.get(Programme, programme.id).contact_retention_until == date(2030, 4, 1)
    # Changing something else later does not ask again.
    renamed = client.post(
        url, data=_programme_form(name="Kent 2", contact_retention_until="2030-04-01")
    )
    assert renamed.status_code == 303


def test_the_retention_date_can_be_cleared(client, auth, session):
    programme = make_programme(session, name="Kent", contact_retention_until=date(2031, 1, 1))
    session.commit()
    auth.login()

    cleared = client.post(f"/admin/programmes/{programme.id}/edit", data=_programme_form())

    assert cleared.status_code == 303
    session.expire_all()
    assert session.get(Programme, programme.id).contact_retention_until is None
    assert (
        "kept until a retention date is set" in client.get(f"/admin/programmes/{programme.id}").text
    )


# -- audit events of the other commands ------------------------------------------------


def test_loading_questionnaires_from_the_command_line_is_audited(runner, session):
    runner.invoke(args=["questionnaires", "load"])
    first = _audit(session, "questionnaire.load")
    runner.invoke(args=["questionnaires", "load"])

    assert first and all(e.actor == "command line" and e.actor_id is None for e in first)
    assert any(e.summary == "session_evaluation version 1 loaded" for e in first)
    assert len(_audit(session, "questionnaire.load")) == len(first)  # nothing new, no event


def test_creating_a_user_from_the_command_line_is_audited(runner, session):
    runner.invoke(
        args=["users", "create", "--role", "evaluator", "eva@example.org"],
        input="a long enough password\na long enough password\n",
    )

    (event,) = _audit(session, "user.create")
    assert event.actor == "command line"
    assert event.summary == "Created eva@example.org as Evaluator"
    assert "password" not in event.summary


def test_a_reminders_run_that_sends_is_audited_once_with_counts(runner, session):
    programme = make_programme(session)
    for _ in range(3):
        make_participant(session, programme)
    make_wave(session, programme)
    session.commit()

    runner.invoke(args=["reminders", "send"])
    runner.invoke(args=["reminders", "send"])

    (event,) = _audit(session, "reminders.send")
    assert event.actor == "command line" and event.actor_id is None
    assert event.summary.startswith("Reminders run: 3 message(s) queued, 3 kept in the outbox")
    assert "@" not in event.summary


def test_the_privacy_module_does_not_import_the_web_framework():
    tree = ast.parse(
        (PROJECT_ROOT / "surveyapp" / "privacy" / "operations.py").read_text(encoding="utf-8")
    )
    modules = {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not modules & {"flask", "flask_wtf", "werkzeug", "wtforms"}
