"""Staff accounts, their access, and the audit log that records every change."""

import csv
import io

import pytest
from sqlalchemy import func, select, text

from surveyapp.audit import operations as audit
from surveyapp.models import AuditEvent, Participant, ProgrammeMember, User
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD
from tests.factories import make_participant, make_programme, make_wave


def _events(session, action=None):
    session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return session.scalars(query).all()


def test_an_administrator_creates_an_account_that_sees_only_its_programmes(
    app, client, auth, session
):
    kent, essex = make_programme(session, name="Kent"), make_programme(session, name="Essex")
    session.commit()
    auth.login()

    response = client.post(
        "/admin/users/new",
        data={
            "email": "Eva@Example.org",
            "role": "evaluator",
            "programmes": [str(kent.id)],
            "is_active": "y",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303

    events = _events(session, "user.create")
    assert [event.summary for event in events] == [
        "Created eva@example.org as Evaluator; may see Kent"
    ]
    other = app.test_client()
    signed_in = other.post("/auth/login", data={"email": "eva@example.org", "password": PASSWORD})
    assert signed_in.status_code == 303
    page = other.get("/admin/programmes").text
    assert "Kent" in page and "Essex" not in page
    assert other.get(f"/admin/programmes/{essex.id}").status_code == 404
    assert other.get("/admin/users").status_code == 403


def test_changing_a_role_and_programmes_is_saved_and_logged(client, auth, session):
    kent, essex = make_programme(session, name="Kent"), make_programme(session, name="Essex")
    user = accounts.create_user(
        session, email="pat@example.org", password=PASSWORD, role="viewer", now=NOW
    )
    session.add(ProgrammeMember(programme_id=kent.id, user_id=user.id))
    session.commit()
    auth.login()

    response = client.post(
        f"/admin/users/{user.id}",
        data={"role": "programme_manager", "programmes": [str(essex.id)], "is_active": "y"},
    )

    assert response.status_code == 303
    session.expire_all()
    assert session.get(User, user.id).role == "programme_manager"
    assert session.scalars(
        select(ProgrammeMember.programme_id).where(ProgrammeMember.user_id == user.id)
    ).all() == [essex.id]
    assert [event.summary for event in _events(session, "user.change")] == [
        "pat@example.org: role viewer → programme_manager; may see Essex; may no longer see "
        "Kent; signed out everywhere"
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "viewer", "is_active": "y"}, "You cannot change your own role"),
        ({"role": "admin"}, "You cannot change your own role or stop yourself signing in"),
    ],
    ids=["own role", "own sign-in"],
)
def test_an_administrator_cannot_lock_themselves_out(client, auth, session, data, message):
    auth.login()
    me = accounts.find_user(session, "admin@example.org")

    response = client.post(f"/admin/users/{me.id}", data=data)

    assert response.status_code == 422
    assert message in response.text
    session.expire_all()
    assert (me.role, me.is_active) == ("admin", True)
    assert _events(session, "user.change") == []


def test_an_unknown_programme_is_refused_and_nothing_changes(client, auth, session):
    user = accounts.create_user(
        session, email="pat@example.org", password=PASSWORD, role="viewer", now=NOW
    )
    session.commit()
    auth.login()

    response = client.post(
        f"/admin/users/{user.id}", data={"role": "evaluator", "programmes": ["999"]}
    )

    assert response.status_code == 422
    assert "There is no programme numbered 999" in response.text
    session.expire_all()
    assert session.get(User, user.id).role == "viewer"
    assert session.get(User, user.id).is_active


def test_changes_are_logged_and_never_hold_answers_or_links(client, auth, session):
    programme = make_programme(session, name="Kent")
    person = make_participant(session, programme, id_number="K001", name="Siân")
    wave = make_wave(session, programme, label="Baseline")
    token = wave.invitations[0].token
    session.commit()
    auth.login()

    client.post(
        f"/admin/programmes/{programme.id}/participants/{person.id}",
        data={"name": "Siân Jones", "email": person.email, "team": "South"},
    )
    client.post(f"/admin/programmes/{programme.id}/participants/{person.id}/withdraw")
    client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide")
    client.post(f"/admin/waves/{wave.id}/close")

    events = _events(session)
    assert [event.action for event in events] == [
        "sign_in.password",  # an administrator's password, then their code
        "sign_in",
        "participant.change",
        "participant.withdraw",
        "export.download",
        "wave.close",
    ]
    assert events[2].summary == f"Participant no. {person.id}: name, team changed"
    assert all(event.actor == "admin@example.org" for event in events)
    assert events[0].address == events[1].address == "127.0.0.1"
    assert {event.programme_id for event in events[2:]} == {programme.id}
    dumped = " ".join(f"{event.summary} {event.object_id}" for event in events)
    assert token not in dumped


def test_the_log_is_searched_paged_and_downloaded(client, auth, session):
    for number in range(60):
        audit.record(
            session,
            action="cohort.import",
            summary=f"Cohort file imported: {number} added",
            actor_label="someone@example.org",
            now=NOW,
        )
    audit.record(session, action="wave.create", summary='=HYPERLINK("x")', actor_label="x", now=NOW)
    session.commit()
    auth.login()

    first = client.get("/admin/audit")
    assert "63 of 63 entries" in first.text  # the password and the code of signing in included
    assert 'aria-label="Page 2"' in first.text
    found = client.get("/admin/audit?q=imported:+59")
    assert "1 of 63 entries" in found.text and "59 added" in found.text
    by_action = client.get("/admin/audit?action=wave.create")
    assert "1 of 63 entries" in by_action.text

    download = client.get("/admin/audit.csv?action=wave.create")
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["When (UTC)", "Who", "Action", "What"]
    assert rows[1][2:4] == ["Wave created", '\'=HYPERLINK("x")']


def test_the_log_refuses_changes_in_the_database(session):
    audit.record(session, action="sign_in", summary="Signed in", actor_label="a", now=NOW)
    session.commit()

    with pytest.raises(Exception, match="append-only"):
        session.execute(text("UPDATE audit_events SET summary = 'nothing happened'"))
        session.flush()
    session.rollback()
    with pytest.raises(Exception, match="append-only"):
        session.execute(text("DELETE FROM audit_events"))
    session.rollback()
    assert session.scalar(select(func.count(AuditEvent.id))) == 1


def test_only_administrators_reach_accounts_and_the_log(client, auth, session):
    auth.login(email="pm@example.org", role="programme_manager")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    assert session.scalar(select(func.count(Participant.id))) == 0


def test_a_refused_sign_in_is_logged_naming_only_a_real_account(client, session):
    accounts.create_user(session, email="pat@x.org", password=PASSWORD, role="viewer", now=NOW)
    session.commit()

    wrong_password = client.post("/auth/login", data={"email": "Pat@x.org", "password": "guess"})
    password_in_the_email_box = client.post(
        "/auth/login", data={"email": "correct horse battery", "password": "x"}
    )

    assert [wrong_password.status_code, password_in_the_email_box.status_code] == [422, 422]
    assert [(e.action, e.actor, e.summary) for e in _events(session)] == [
        ("sign_in_failed", "pat@x.org", "Sign-in refused: wrong details"),
        ("sign_in_failed", "(no such account)", "Sign-in refused: wrong details"),
    ]
