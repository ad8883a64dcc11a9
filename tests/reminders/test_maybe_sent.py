"""The ambiguous window: the connection drops after the message was sent, before the answer."""

from datetime import timedelta

from sqlalchemy import select

from surveyapp.models import AuditEvent, Message
from tests.conftest import NOW, RecordingHandler
from tests.factories import make_participant, make_programme, make_wave


class HangsUpAfterData(RecordingHandler):
    """Keeps each message it receives; after the ``hang_up_on``-th, closes the connection
    without answering, as a server or network failing at that moment would."""

    def __init__(self, hang_up_on):
        super().__init__()
        self.hang_up_on = hang_up_on

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == self.hang_up_on:
            server.transport.close()  # the message arrived; its "250" never will
        return answer


def _wave(session, people):
    programme = make_programme(session, name="Pilot peer support programme 2010")
    for n in range(people):
        make_participant(session, programme, name=f"Person{n} Surname", email=f"p{n}@example.org")
    wave = make_wave(session, programme, label="Baseline")
    session.commit()
    return wave


def _send(app):
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def _copies(handler):
    copies = {}
    for message in handler.messages:
        copies[message["To"]] = copies.get(message["To"], 0) + 1
    return copies


def test_a_message_lost_after_sending_is_not_sent_again(
    make_app, session, smtp_server, smtp_config
):
    _wave(session, people=3)
    handler = HangsUpAfterData(hang_up_on=2)
    smtp_server.handler = handler

    first = _send(make_app(**smtp_config))
    later = _send(make_app(**smtp_config, CLOCK=lambda: NOW + timedelta(days=1)))

    assert _copies(handler) == {"p0@example.org": 1, "p1@example.org": 1, "p2@example.org": 1}
    session.expire_all()
    states = dict(session.execute(select(Message.to_address, Message.state)).all())
    assert states == {
        "p0@example.org": "sent",
        "p1@example.org": "unsure",
        "p2@example.org": "sent",
    }
    unsure = session.scalar(select(Message).where(Message.state == "unsure"))
    assert unsure.state_words == "may have been sent"
    assert unsure.last_error.startswith("The connection was lost after the message was sent")
    assert "2 sent by SMTP" in first and "1 may have been sent" in first
    assert "0 sent by SMTP" in later


def test_the_outbox_asks_the_administrator_and_sends_again_only_when_told(
    make_app, session, smtp_server, smtp_config, auth, client
):
    wave = _wave(session, people=2)
    handler = HangsUpAfterData(hang_up_on=1)
    smtp_server.handler = handler
    app = make_app(**smtp_config)
    _send(app)
    auth.login()
    unsure, sent = session.scalars(select(Message).order_by(Message.id)).all()

    page = client.get(f"/admin/waves/{wave.id}/outbox")
    again = client.post(f"/admin/waves/{wave.id}/outbox/{unsure.id}/send-again")
    twice = client.post(f"/admin/waves/{wave.id}/outbox/{unsure.id}/mark-sent")
    handler.hang_up_on = None
    _send(app)

    assert "1 email may have been sent" in page.text
    assert "Send again" in page.text and "Mark as sent" in page.text
    assert again.status_code == 303
    assert "Nothing changed" in client.get(twice.location).text  # decided already
    assert _copies(handler) == {"p0@example.org": 2, "p1@example.org": 1}  # told to: twice
    session.expire_all()
    assert (unsure.state, sent.state) == ("sent", "sent")
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("message.send_again") == 1 and "message.mark_sent" not in actions


def test_marking_as_sent_records_it_sent_without_sending(
    make_app, session, smtp_server, smtp_config, auth, client
):
    wave = _wave(session, people=1)
    handler = HangsUpAfterData(hang_up_on=1)
    smtp_server.handler = handler
    app = make_app(**smtp_config)
    _send(app)
    auth.login()
    unsure = session.scalar(select(Message))

    done = client.post(f"/admin/waves/{wave.id}/outbox/{unsure.id}/mark-sent")
    _send(make_app(**smtp_config, CLOCK=lambda: NOW + timedelta(days=1)))

    assert "marked as sent" in client.get(done.location).text
    session.expire_all()
    assert (unsure.state, unsure.sent_at, unsure.transport) == ("sent", NOW, "smtp")
    assert len(handler.messages) == 1
