"""Signing out everywhere else; a new role or password ends the person's sessions."""

from sqlalchemy import select

from surveyapp.models import AuditEvent, Programme
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD, sign_in
from tests.factories import make_programme


def test_signing_out_everywhere_else_keeps_this_browser(app, session):
    accounts.create_user(session, email="pm@example.org", password=PASSWORD, role="viewer", now=NOW)
    session.commit()
    here, there = app.test_client(), app.test_client()
    sign_in(here, session, "pm@example.org")
    sign_in(there, session, "pm@example.org")

    ended = here.post("/auth/sessions/end-others")

    assert ended.status_code == 303 and ended.location == "/auth/account"
    assert here.get("/admin/programmes").status_code == 200
    assert there.get("/admin/programmes").location.startswith("/auth/login")
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-1] == "sign_out.others"


def test_a_new_role_or_password_signs_the_person_out_but_a_new_programme_does_not(
    app, client, auth, session
):
    make_programme(session, name="Kent")
    eva = accounts.create_user(
        session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
    )
    session.commit()
    auth.login()
    theirs = app.test_client()
    kent = session.scalar(select(Programme.id))

    def signed_in():
        return theirs.get("/admin/programmes").status_code == 200

    sign_in(theirs, session, "eva@example.org")
    client.post(
        f"/admin/users/{eva.id}", data={"role": "evaluator", "programmes": [kent], "is_active": "y"}
    )
    after_programme = signed_in()
    client.post(
        f"/admin/users/{eva.id}", data={"role": "viewer", "programmes": [kent], "is_active": "y"}
    )
    after_role = signed_in()
    sign_in(theirs, session, "eva@example.org")
    client.post(
        f"/admin/users/{eva.id}",
        data={
            "role": "viewer",
            "programmes": [kent],
            "is_active": "y",
            "new_password": "a new long password",
        },
    )
    after_password = signed_in()

    assert (after_programme, after_role, after_password) == (True, False, False)
    session.expire_all()
    summaries = session.scalars(
        select(AuditEvent.summary).where(AuditEvent.action == "user.change")
    ).all()
    assert summaries[-1] == "eva@example.org: password set; signed out everywhere"
