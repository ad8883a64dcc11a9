"""Without a mail server, a message kept in the outbox says so everywhere, never "Sent"."""

import re
from html import unescape

from sqlalchemy import select

from surveyapp.models import Message
from tests.factories import make_participant, make_programme, make_wave

KEPT = "Kept, not sent: no mail server"


def _text(html: str) -> str:
    """A page's words, as a person reads them: no tags, spaces run together."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _sent_without_a_mail_server(app, session, people=3):
    programme = make_programme(session, name="Pilot programme")
    for number in range(people):
        make_participant(
            session, programme, name=f"Person{number} Surname", email=f"p{number}@example.org"
        )
    wave = make_wave(session, programme, label="Baseline")
    session.commit()
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    return wave


def test_the_outbox_list_and_filter_say_kept_not_sent(app, client, auth, session):
    auth.login()
    wave = _sent_without_a_mail_server(app, session)

    outbox = _text(client.get(f"/admin/waves/{wave.id}/outbox").text)
    kept = _text(client.get(f"/admin/waves/{wave.id}/outbox?state=kept").text)
    sent = _text(client.get(f"/admin/waves/{wave.id}/outbox?state=sent").text)

    assert f"{KEPT} (3)" in outbox and "Sent (0)" in outbox
    assert outbox.count(KEPT) == 1 + 3  # the filter link and one tag a message
    assert "3 messages kept, not sent: no mail server" in kept
    assert "No sent messages." in sent


def test_the_message_page_says_it_was_kept_not_sent(app, client, auth, session):
    auth.login()
    wave = _sent_without_a_mail_server(app, session, people=1)
    message = session.scalar(select(Message))

    page = _text(client.get(f"/admin/waves/{wave.id}/outbox/{message.id}").text)

    assert f"State {KEPT} It is kept here in the outbox for you to read" in page
    assert "so it was not sent to p0@example.org" in page
    assert "Kept in the outbox 1 May 2030, 1:00pm" in page
    assert "Accepted by the mail server" not in page
    assert "From Pilot programme <surveyapp@localhost>" in page  # the name inboxes show


def test_the_reminder_plan_counts_kept_messages_not_sent_ones(app, client, auth, session):
    auth.login()
    wave = _sent_without_a_mail_server(app, session)

    page = _text(client.get(f"/admin/waves/{wave.id}/reminders").text)

    assert "3 kept, not sent: no mail server" in page
    assert "3 sent" not in page


def test_the_persons_page_says_their_email_was_kept_not_sent(app, client, auth, session):
    auth.login()
    wave = _sent_without_a_mail_server(app, session, people=1)
    person = wave.invitations[0].participant

    page = client.get(f"/admin/programmes/{wave.programme_id}/participants/{person.id}").text
    emails = _text(page.split('id="messages"')[1].split("</table>")[0])

    assert "Baseline: Invitation" in emails and KEPT in emails
    assert ">Sent<" not in page.split('id="messages"')[1].split("</tbody>")[0].split("<tbody")[1]


def test_a_message_a_mail_server_accepted_still_reads_sent(
    make_app, client, auth, session, smtp_server, smtp_config
):
    auth.login()
    wave = _sent_without_a_mail_server(make_app(**smtp_config), session, people=1)
    message = session.scalar(select(Message))

    outbox = _text(client.get(f"/admin/waves/{wave.id}/outbox").text)
    detail = _text(client.get(f"/admin/waves/{wave.id}/outbox/{message.id}").text)

    assert "Sent (1)" in outbox and f"{KEPT} (0)" in outbox
    assert "State Sent Accepted by the mail server." in detail
