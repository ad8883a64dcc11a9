"""Email that inboxes accept: every header and both parts, read back at a real SMTP server.

The loopback server (tests/conftest.py) parses each message it accepts with the standard
library, ``email.message_from_bytes(..., policy=email.policy.default)``.
"""

from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime

from sqlalchemy import select

from surveyapp.mail import refuses_address
from surveyapp.models import Invitation, Message
from surveyapp.reminders import sending
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave

PROGRAMME = "Pilot peer support programme 2010"


def _wave(session, names=("Siân Ó Dónaill",), **overrides):
    programme = make_programme(session, name=PROGRAMME)
    team = overrides.pop("team", "North")
    organisation = overrides.pop("organisation", "Kent County Council")
    for number, name in enumerate(names):
        make_participant(
            session,
            programme,
            name=name,
            email=f"p{number}@example.org",
            team=team,
            organisation=organisation,
        )
    wave = make_wave(session, programme, label="Baseline", **overrides)
    session.commit()
    return wave


def _send(app, clock=None):
    if clock is not None:
        app.config["CLOCK"] = clock
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def _value(header) -> str:
    """A header's value as a mail program reads it: a long header is folded onto the next
    line (RFC 5322), and the standard parser keeps that fold's leading space."""
    return str(header).strip()


def _token(session, address):
    return session.scalar(
        select(Invitation.token).join(Message).where(Message.to_address == address).limit(1)
    )


def test_every_message_carries_the_headers_inboxes_expect(
    make_app, session, smtp_server, smtp_config
):
    _wave(session)
    _send(make_app(**smtp_config))

    (received,) = smtp_server.handler.messages
    message = session.scalar(select(Message))
    token = _token(session, "p0@example.org")
    opt_out = f"https://surveys.example.org/r/{token}/no-reminders"

    assert sorted(received.keys()) == sorted(
        [
            "Date",
            "Message-ID",
            "From",
            "To",
            "Subject",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "MIME-Version",
            "Content-Type",
        ]
    )
    assert parsedate_to_datetime(received["Date"]) == NOW.replace(tzinfo=UTC)
    assert received["Message-ID"] == f"<surveyapp.message.{message.id}@surveys.example.org>"
    sender = received["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (PROGRAMME, "evaluation@example.org")
    assert received["To"] == "p0@example.org"
    assert (
        _value(received["Subject"]) == f"Please tell us about {PROGRAMME}: Baseline questionnaire"
    )
    assert _value(received["List-Unsubscribe"]) == f"<{opt_out}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Reply-To" not in received


def test_the_name_reply_to_and_domain_settings_are_used(
    make_app, session, smtp_server, smtp_config
):
    _wave(session)
    app = make_app(
        **smtp_config,
        MAIL_FROM_NAME="Evaluation team, Ó Dónaill & Co",
        MAIL_REPLY_TO="questions@example.org",
        MAIL_DOMAIN="mail.example.net",
    )
    _send(app)

    (received,) = smtp_server.handler.messages
    message = session.scalar(select(Message))
    sender = received["From"].addresses[0]
    assert sender.display_name == "Evaluation team, Ó Dónaill & Co"
    assert sender.addr_spec == "evaluation@example.org"
    assert received["Reply-To"].addresses[0].addr_spec == "questions@example.org"
    assert received["Message-ID"] == f"<surveyapp.message.{message.id}@mail.example.net>"


def test_a_plain_http_address_offers_no_one_click_opt_out(
    make_app, session, smtp_server, smtp_config
):
    _wave(session)
    _send(make_app(**smtp_config | {"BASE_URL": "http://127.0.0.1:5000"}))

    (received,) = smtp_server.handler.messages
    token = _token(session, "p0@example.org")
    assert _value(received["List-Unsubscribe"]) == f"<http://127.0.0.1:5000/r/{token}/no-reminders>"
    assert "List-Unsubscribe-Post" not in received  # RFC 8058 asks for HTTPS
    assert received["Message-ID"].endswith("@127.0.0.1>")


def test_a_text_part_and_an_html_part_made_from_the_same_template(
    make_app, session, smtp_server, smtp_config
):
    _wave(session, names=('<b>Evil</b> "Sam" & Co',), team="<script>x</script>")
    _send(make_app(**smtp_config))

    (received,) = smtp_server.handler.messages
    stored = session.scalar(select(Message))
    token = _token(session, "p0@example.org")
    link = f"https://surveys.example.org/r/{token}"
    assert received.get_content_type() == "multipart/alternative"
    text, html = (part for part in received.iter_parts())
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert text.get_content().replace("\r\n", "\n") == stored.body
    markup = html.get_content().replace("\r\n", "\n")
    # Every merged value is escaped: the name arrives as text, never as markup.
    assert "<b>" not in markup and "<script>" not in markup
    assert "Dear &lt;b&gt;Evil&lt;/b&gt;," in markup
    assert '<html lang="en">' in markup
    assert f"<title>Please tell us about {PROGRAMME}: Baseline questionnaire</title>" in markup
    assert markup.count("<p ") == stored.body.strip().count("\n\n") + 1
    assert f'<a href="{link}" ' in markup and f">{link}</a>" in markup
    assert f'<a href="{link}/no-reminders" ' in markup
    assert "Please answer by Tuesday 21 May 2030." in markup
    # Lines wrapped only to keep the text narrow run on; the signature keeps its break.
    assert "we ask everyone to fill in a short questionnaire." in markup
    assert "Thank you,<br>\nThe evaluation team</p>" in markup


def test_a_final_reminder_escapes_the_team_and_organisation_in_html(
    make_app, session, smtp_server, smtp_config
):
    _wave(
        session,
        team='North <img src=x onerror="alert(1)">',
        organisation="Kent & Medway",
        closes_at=NOW + timedelta(days=40),
    )
    for days in (0, 7, 14, 21):
        _send(make_app(**smtp_config), clock=lambda days=days: NOW + timedelta(days=days))

    final = smtp_server.handler.messages[-1]
    html = final.get_body(preferencelist=("html",)).get_content()
    assert _value(final["Subject"]).startswith("Last chance:")
    assert "<img" not in html
    assert "North &lt;img src=x onerror=&quot;alert(1)&quot;&gt; team at Kent &amp; Medway" in (
        " ".join(html.split())
    )


# -- a permanent refusal ---------------------------------------------------------------


ANSWERS = {
    "550 5.1.1 No such user here": True,
    "550 5.1.10 Recipient address rejected: null MX": True,
    "553 5.1.3 Bad recipient address syntax": True,
    "550 5.2.1 Mailbox disabled": True,
    "550 Requested action not taken: mailbox unavailable": True,
    "550 5.7.1 Message rejected as spam": False,
    "552 5.3.4 Message too big": False,
    "554 Transaction failed": False,
    "451 4.3.0 Too many messages, try again later": False,
    "Could not reach the mail server: timed out": False,
}


def test_an_address_refusal_is_read_alike_in_python_and_in_the_database(app, session):
    _wave(session)
    sending.queue_due(session, now=NOW, settings=sending.settings_from_config(app.config))
    message = session.scalar(select(Message))
    message.state = "failed"

    in_python, in_sql = {}, {}
    for answer in ANSWERS:
        message.last_error = answer
        session.flush()
        in_python[answer] = refuses_address(answer) and message.refuses_address
        in_sql[answer] = (
            session.scalar(select(Message.id).where(sending.address_refused())) is not None
        )

    assert in_python == in_sql == ANSWERS


def test_a_refused_address_is_shown_and_skipped_until_corrected(
    make_app, client, auth, session, smtp_server, smtp_config
):
    wave = _wave(session, names=("Siân Ó Dónaill", "Kwame Mensah"))
    smtp_server.handler.refuse_after = 0
    smtp_server.handler.refusal = "550 5.1.1 No such user here"
    _send(make_app(**smtp_config))  # the invitations: both refused
    smtp_server.handler.refuse_after = None
    sian, kwame = sorted((i.participant for i in wave.invitations), key=lambda person: person.email)
    # Kwame's address is corrected; Siân's is not.
    auth.login()
    edited = client.post(
        f"/admin/programmes/{wave.programme_id}/participants/{kwame.id}",
        data={"name": kwame.name, "email": "kwame.mensah@example.org"},
    )
    person_page = client.get(f"/admin/programmes/{wave.programme_id}/participants/{sian.id}")
    corrected_page = client.get(f"/admin/programmes/{wave.programme_id}/participants/{kwame.id}")
    cohort = client.get(f"/admin/programmes/{wave.programme_id}/participants")

    _send(make_app(**smtp_config), clock=lambda: NOW + timedelta(days=7))  # first reminder

    assert edited.status_code == 303
    assert "The mail server refused p0@example.org for good" in person_page.text
    assert "550 5.1.1 No such user here" in person_page.text
    assert 'id="email-refused"' not in corrected_page.text
    rows = cohort.text.split('id="participant-rows"')[1]
    assert rows.count("Email refused") == 1
    assert rows.index("p0@example.org") < rows.index("Email refused")
    assert rows.index("Email refused") < rows.index("kwame.mensah@example.org")
    # The reminder went to the corrected address only; the refused one was left alone.
    assert [m["To"] for m in smtp_server.handler.messages] == ["kwame.mensah@example.org"]
    session.expire_all()
    reminders = session.scalars(
        select(Message).join(Message.step).where(Message.step.has(label="First reminder"))
    ).all()
    assert [m.to_address for m in reminders] == ["kwame.mensah@example.org"]


def test_a_refusal_that_is_not_of_the_address_does_not_stop_later_steps(
    make_app, session, smtp_server, smtp_config
):
    _wave(session)
    smtp_server.handler.refuse_after = 0
    smtp_server.handler.refusal = "552 5.3.4 Message too big"
    _send(make_app(**smtp_config))
    smtp_server.handler.refuse_after = None

    _send(make_app(**smtp_config), clock=lambda: NOW + timedelta(days=7))

    assert [m["To"] for m in smtp_server.handler.messages] == ["p0@example.org"]
    assert _value(smtp_server.handler.messages[0]["Subject"]).startswith("Reminder:")


# -- one-click opting out (RFC 8058) ---------------------------------------------------


def test_a_one_click_post_to_the_opt_out_link_opts_out_with_no_session_or_token(make_app, session):
    wave = _wave(session)
    invitation = wave.invitations[0]
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    url = f"/r/{invitation.token}/no-reminders"

    page = client.get(url)
    fresh = make_app(WTF_CSRF_ENABLED=True).test_client()  # a mail program: no cookie at all
    done = fresh.post(url, data={"List-Unsubscribe": "One-Click"})
    as_multipart = fresh.post(
        url, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data"
    )

    assert "Stop reminders about this questionnaire?" in page.text  # GET still asks first
    assert done.status_code == as_multipart.status_code == 200
    assert done.text == "You will get no more reminders about this questionnaire.\n"
    assert "Set-Cookie" not in done.headers
    session.expire_all()
    assert session.get(Invitation, invitation.id).opted_out_at == NOW


def test_only_the_one_click_post_goes_without_a_form_token(make_app, session):
    wave = _wave(session)
    invitation = wave.invitations[0]
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    url = f"/r/{invitation.token}/no-reminders"

    other_body = client.post(url, data={"List-Unsubscribe": "Yes"})
    forged = client.post(url, data={"csrf_token": "forged"})
    unknown = client.post(
        f"/r/{invitation.token}x/no-reminders", data={"List-Unsubscribe": "One-Click"}
    )

    assert [other_body.status_code, forged.status_code, unknown.status_code] == [400, 400, 404]
    session.expire_all()
    assert session.get(Invitation, invitation.id).opted_out_at is None


def test_after_a_one_click_opt_out_no_reminder_is_sent(make_app, session, smtp_server, smtp_config):
    _wave(session)
    app = make_app(**smtp_config)
    _send(app)
    (invitation_email,) = smtp_server.handler.messages
    link = _value(invitation_email["List-Unsubscribe"]).strip("<>")

    answer = app.test_client().post(
        link.removeprefix("https://surveys.example.org"),
        data={"List-Unsubscribe": "One-Click"},
    )
    _send(make_app(**smtp_config), clock=lambda: NOW + timedelta(days=7))

    assert answer.status_code == 200
    assert len(smtp_server.handler.messages) == 1  # no reminder after opting out
