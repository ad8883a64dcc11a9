"""Deciding, in Chromium, about emails that may have been sent (the connection was lost
after sending and before the mail server answered): Send again, or Mark as sent."""

import pytest
from sqlalchemy import select

from surveyapp.models import AuditEvent, Message
from surveyapp.reminders import sending
from tests.browser.conftest import sign_in
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave

pytestmark = pytest.mark.browser


def _unsure_wave(live_server) -> int:
    """A wave whose two invitations may have been sent; returns its id."""
    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="Pilot peer support programme 2010")
        for name, email in (("Siân Ó Dónaill", "sian@example.org"), ("Kwame Mensah", "k@x.org")):
            make_participant(session, programme, name=name, email=email)
        wave = make_wave(session, programme, label="Baseline")
        settings = sending.settings_from_config(live_server.app.config)
        sending.queue_due(session, now=NOW, settings=settings)
        for message in session.scalars(select(Message)):
            message.state, message.transport, message.sent_at = "unsure", "smtp", NOW
            message.attempts = 1
            message.last_error = "The connection was lost after the message was sent."
        session.commit()
        return wave.id


def _states(live_server) -> dict:
    with live_server.sessionmaker() as session:
        return dict(session.execute(select(Message.to_address, Message.state)).all())


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.posts(
    "/admin/waves/<int:wave_id>/outbox/<int:message_id>/send-again",
    "/admin/waves/<int:wave_id>/outbox/<int:message_id>/mark-sent",
)
def test_an_administrator_sends_one_again_and_marks_the_other_sent(
    browser, live_server, javascript
):
    wave_id = _unsure_wave(live_server)
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/admin/waves/{wave_id}/outbox")
    warning = page.inner_text("#unsure-warning")
    page.click("button:has-text('Send again to sian@example.org')")
    page.wait_for_selector(".govuk-notification-banner")
    sent_again = page.inner_text(".govuk-notification-banner")
    page.click("a:has-text('Show them')")
    page.click("button:has-text('Mark as sent to k@x.org')")
    page.wait_for_selector(".govuk-notification-banner")
    marked = page.inner_text(".govuk-notification-banner")
    after = page.inner_text("#outbox")
    context.close()

    assert "2 emails may have been sent" in warning
    assert "to sian@example.org queued to be sent again" in sent_again
    assert "It goes with the next scheduled sending." in sent_again
    assert "to k@x.org marked as sent" in marked
    assert "May have been sent" not in after
    assert _states(live_server) == {"sian@example.org": "queued", "k@x.org": "sent"}
    with live_server.sessionmaker() as session:
        events = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("message.%"))
        ).all()
    assert sorted(events) == ["message.mark_sent", "message.send_again"]
