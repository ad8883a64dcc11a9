"""An administrator emails another staff member a password reset link."""

from sqlalchemy import func, select

from surveyapp.models import AuditEvent, PasswordReset
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD


def _eva(session):
    eva = accounts.create_user(
        session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
    )
    session.commit()
    return eva


def test_only_an_administrator_may_send_one(make_app, session, smtp_server, smtp_config, auth):
    app = make_app(**smtp_config)
    eva = _eva(session)
    client = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(client, session).login("pm@example.org", role="programme_manager")

    refused = client.post(f"/admin/users/{eva.id}/password-reset")

    assert refused.status_code == 403
    assert smtp_server.handler.messages == []
    assert session.scalar(select(func.count(PasswordReset.id))) == 0


def test_without_a_mail_server_no_link_is_made(client, session, auth):
    eva = _eva(session)
    auth.login()

    sent = client.post(f"/admin/users/{eva.id}/password-reset")

    assert (
        "No link sent to eva@example.org: there is no mail server."
        in client.get(sent.location).text
    )
    session.expire_all()
    assert session.scalar(select(func.count(PasswordReset.id))) == 0
    assert "password.reset_sent" not in session.scalars(select(AuditEvent.action)).all()


def test_the_link_is_for_an_hour_and_names_the_administrator_in_the_log(
    make_app, session, smtp_server, smtp_config
):
    app = make_app(**smtp_config)
    eva = _eva(session)
    client = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(client, session).login()
    client.post(f"/admin/users/{eva.id}/password-reset")
    (message,) = smtp_server.handler.messages
    path = message.get_content().split("https://surveys.example.org", 1)[1].split()[0]
    late = make_app(**smtp_config, CLOCK=lambda: NOW.replace(hour=13)).test_client()

    assert "open this link within 60 minutes" in message.get_content()
    assert late.get(path).status_code == 404
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "password.reset_sent"))
    assert event.actor == "admin@example.org"
