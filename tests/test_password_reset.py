""" "Forgot your password?": a single-use link by email, valid for an hour, the same answer
for any address; through the loopback SMTP server."""

import re
from datetime import timedelta

from sqlalchemy import select

from surveyapp.models import AuditEvent, PasswordReset, User
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD, sign_in


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


NEW = "a brand new password"


def _link(message) -> str:
    return re.search(
        r"https://surveys\.example\.org(/auth/reset-password/\S+)", message.get_content()
    ).group(1)


def test_a_known_and_an_unknown_address_get_the_same_answer_and_only_one_email(
    make_app, session, smtp_server, smtp_config
):
    accounts.create_user(
        session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
    )
    session.commit()
    client = make_app(**smtp_config).test_client()

    known = client.post("/auth/forgot-password", data={"email": "Eva@Example.org"})
    unknown = client.post("/auth/forgot-password", data={"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 303
    assert known.location == unknown.location == "/auth/forgot-password/sent"
    (message,) = smtp_server.handler.messages
    assert message["To"] == "eva@example.org"
    assert message["Subject"] == "Reset your surveyapp password"
    token = _link(message).rsplit("/", 1)[1]
    stored = session.scalars(select(PasswordReset.token_hash)).all()
    assert len(stored) == 1 and token not in stored[0]
    summaries = session.scalars(
        select(AuditEvent.summary).where(AuditEvent.action == "password.reset_asked")
    ).all()
    assert summaries == [
        "Password reset link sent by email",
        "Password reset asked for an address with no account that can sign in",
    ]


def test_the_link_works_once_and_ends_every_session(make_app, session, smtp_server, smtp_config):
    accounts.create_user(
        session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
    )
    session.commit()
    app = make_app(**smtp_config)
    elsewhere, client = app.test_client(), app.test_client()
    sign_in(elsewhere, session, "eva@example.org")
    client.post("/auth/forgot-password", data={"email": "eva@example.org"})
    link = _link(smtp_server.handler.messages[0])

    page = client.get(link)
    mismatch = client.post(link, data={"password": NEW, "again": NEW + "x"})
    short = client.post(link, data={"password": "short", "again": "short"})
    changed = client.post(link, data={"password": NEW, "again": NEW})
    again = client.get(link)

    assert page.status_code == 200 and "Choose a new password" in page.text
    assert mismatch.status_code == 422 and "Enter the same new password twice" in mismatch.text
    assert short.status_code == 422 and "at least 10 characters" in short.text
    assert changed.status_code == 303 and changed.location == "/auth/login"
    assert again.status_code == 404 and "This link does not work" in again.text
    assert elsewhere.get("/admin/programmes").location.startswith("/auth/login")
    assert (
        client.post(
            "/auth/login", data={"email": "eva@example.org", "password": PASSWORD}
        ).status_code
        == 422
    )
    assert (
        client.post("/auth/login", data={"email": "eva@example.org", "password": NEW}).status_code
        == 303
    )
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "password.reset" in actions


def test_the_link_stops_working_after_an_hour(make_app, session, smtp_server, smtp_config):
    clock = Clock()
    accounts.create_user(
        session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
    )
    session.commit()
    client = make_app(CLOCK=clock, **smtp_config).test_client()
    client.post("/auth/forgot-password", data={"email": "eva@example.org"})
    link = _link(smtp_server.handler.messages[0])

    clock.now = NOW + timedelta(minutes=59)
    in_time = client.get(link)
    clock.now = NOW + timedelta(minutes=60)
    late = client.post(link, data={"password": NEW, "again": NEW})

    assert in_time.status_code == 200 and late.status_code == 404
    session.expire_all()
    assert accounts.authenticate(session, email="eva@example.org", password=PASSWORD, now=NOW)


def test_an_administrator_still_gives_a_code_after_a_reset(
    make_app, session, smtp_server, smtp_config
):
    user = accounts.create_user(
        session, email="admin@example.org", password=PASSWORD, role="admin", now=NOW
    )
    session.commit()
    client = make_app(**smtp_config).test_client()
    client.post("/auth/forgot-password", data={"email": "admin@example.org"})
    client.post(_link(smtp_server.handler.messages[0]), data={"password": NEW, "again": NEW})

    signed = client.post("/auth/login", data={"email": "admin@example.org", "password": NEW})

    assert signed.location == "/auth/two-step/set-up"
    assert client.get("/admin/programmes").location == "/auth/two-step"
    session.expire_all()
    assert session.get(User, user.id).session_version == 1
