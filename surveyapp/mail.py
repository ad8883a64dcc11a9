"""Sending email: a real SMTP conversation when configured, else the in-app outbox.

Flask-free. A mailer is opened once per batch so one connection carries many
messages; the outbox mailer keeps nothing itself: the Message rows are the
outbox, and delivering to it only marks them as kept in the app.

Every message is written as inboxes expect (:func:`compose`): a Date, a
Message-ID on the product's own domain, a From with a display name, an
optional Reply-To, List-Unsubscribe with the person's opt-out link (and, for an
HTTPS link, List-Unsubscribe-Post for one-click opting out, RFC 8058), and an
HTML part beside the text part.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol


class DeliveryFailed(Exception):
    """The mail server refused a message; ``str()`` is its answer."""


class ServerBusy(DeliveryFailed):
    """No fault of the message: the server asked to slow down (``421`` or another ``4xx``),
    could not be reached, or refused the connection or sign-in. The whole run waits."""


class MaybeSent(DeliveryFailed):
    """The connection was lost after the message itself was sent and before the server
    answered: it may have been delivered, so it must not be sent again without asking."""


class _Tracking:
    """An SMTP connection that notes when a message's content has gone to the server."""

    content_sent = False

    def data(self, msg):
        # smtplib's own DATA command, with one line more: note when the content has gone.
        self.putcmd("data")
        code, answer = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, answer)
        content = re.sub(rb"(?m)^\.", b"..", msg if isinstance(msg, bytes) else msg.encode())
        if content[-2:] != b"\r\n":
            content += b"\r\n"
        self.send(content + b".\r\n")
        self.content_sent = True
        code, answer = self.getreply()
        return code, answer


class _SMTP(_Tracking, smtplib.SMTP):
    pass


class _SMTP_SSL(_Tracking, smtplib.SMTP_SSL):
    pass


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"  # "starttls", "tls" (implicit) or "none"
    username: str = ""
    password: str = ""
    timeout: float = 30.0


class Mailer(Protocol):
    transport: str

    def send(
        self,
        *,
        to: str,
        subject: str,
        body: str,
        message_id: str,
        html: str = "",
        sender_name: str = "",
        unsubscribe: str = "",
        date: datetime | None = None,
    ) -> None: ...

    def close(self) -> None: ...


def compose(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    sender_name: str = "",
    reply_to: str = "",
    html: str = "",
    unsubscribe: str = "",
    date: datetime | None = None,
) -> EmailMessage:
    """Write one email with the headers inboxes expect.

    ``date`` is a UTC time (naive, as stored, or aware); ``unsubscribe`` the person's
    opt-out link. Only an HTTPS link is offered for one-click opting out (RFC 8058).
    """
    when = date or datetime.now(UTC)
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    given_name, address = parseaddr(sender)  # MAIL_FROM may be "Name <address>"
    message = EmailMessage()
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id
    message["From"] = Address(display_name=sender_name or given_name, addr_spec=address)
    if reply_to:
        message["Reply-To"] = reply_to
    message["To"] = to
    message["Subject"] = subject
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        if unsubscribe.startswith("https://"):
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    return message


class OutboxMailer:
    """The embedded default: messages stay in the app for an administrator to read."""

    transport = "outbox"

    def send(self, **_message) -> None:
        return None

    def close(self) -> None:
        return None


class SmtpMailer:
    """One SMTP connection reused for a batch; reconnects once if the server dropped it
    before the message was sent, never after (:class:`MaybeSent`)."""

    transport = "smtp"

    def __init__(
        self, settings: SmtpSettings, sender: str, sender_name: str = "", reply_to: str = ""
    ) -> None:
        self.settings = settings
        self.sender = sender
        #: The From name for every message (SURVEYAPP_MAIL_FROM_NAME); when empty, each
        #: message's own (its programme's name).
        self.sender_name = sender_name
        self.reply_to = reply_to
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        if settings.security == "tls":
            connection: smtplib.SMTP = _SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = _SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                connection.starttls(context=ssl.create_default_context())
        if settings.username:
            connection.login(settings.username, settings.password)
        return connection

    def send(
        self,
        *,
        to: str,
        subject: str,
        body: str,
        message_id: str,
        html: str = "",
        sender_name: str = "",
        unsubscribe: str = "",
        date: datetime | None = None,
    ) -> None:
        message = compose(
            sender=self.sender,
            sender_name=self.sender_name or sender_name,
            reply_to=self.reply_to,
            to=to,
            subject=subject,
            body=body,
            html=html,
            message_id=message_id,
            unsubscribe=unsubscribe,
            date=date,
        )
        for attempt in (1, 2):
            try:
                if self._connection is None:
                    self._connection = self._open()
                self._connection.content_sent = False
                self._connection.send_message(message)
                return
            except smtplib.SMTPServerDisconnected as error:
                sent = self._connection is not None and self._connection.content_sent
                self._connection = None
                if sent:
                    raise MaybeSent(_LOST_AFTER_SENDING) from error
                if attempt == 2:
                    raise ServerBusy(f"The mail server closed the connection: {error}") from error
            except smtplib.SMTPResponseException as error:
                text = error.smtp_error.decode("utf-8", "replace")
                if error.smtp_code == 421:  # server going away: drop the connection
                    self.close()
                answer = f"{error.smtp_code} {text}"
                raise (ServerBusy if 400 <= error.smtp_code < 500 else DeliveryFailed)(
                    answer
                ) from error
            except smtplib.SMTPRecipientsRefused as error:
                codes = [code for code, _reason in error.recipients.values()]
                answers = "; ".join(
                    f"{code} {reason.decode('utf-8', 'replace')}"
                    for code, reason in error.recipients.values()
                )
                raise (ServerBusy if all(400 <= c < 500 for c in codes) else DeliveryFailed)(
                    answers
                ) from error
            except (OSError, smtplib.SMTPException) as error:
                sent = self._connection is not None and self._connection.content_sent
                self._connection = None
                if sent:  # a timeout waiting for the answer to the content
                    raise MaybeSent(_LOST_AFTER_SENDING) from error
                raise ServerBusy(f"Could not reach the mail server: {error}") from error

    def _open(self) -> smtplib.SMTP:
        """Connect and sign in; any failure here is the server's, never a message's."""
        try:
            return self._connect()
        except smtplib.SMTPResponseException as error:
            text = error.smtp_error.decode("utf-8", "replace")
            raise ServerBusy(f"{error.smtp_code} {text}") from error
        except (OSError, smtplib.SMTPException) as error:
            raise ServerBusy(f"Could not reach the mail server: {error}") from error

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._connection = None


_LOST_AFTER_SENDING = (
    "The connection was lost after the message was sent, before the mail server answered: "
    "it may have been delivered."
)

#: How a mail server says an address does not exist or takes no mail: an enhanced status
#: of 5.1.x (bad mailbox, domain or syntax) or 5.2.1 (mailbox disabled), or, from a server
#: that gives no enhanced status, 550, 551 or 553.
_ADDRESS_REFUSED = re.compile(r"5\d\d (5\.1\.\d|5\.2\.1( |$))|55[013] (?!.\.)")


def refuses_address(answer: str) -> bool:
    """Whether a mail server's permanent answer (``"550 5.1.1 No such user"``) refuses the
    address itself, so that writing to it again is pointless until it is corrected."""
    return _ADDRESS_REFUSED.match(answer) is not None


def message_id_for(message_row_id: int, domain: str) -> str:
    """A stable Message-ID per outbox row, so a resend can be recognised by mail servers."""
    return f"<surveyapp.message.{message_row_id}@{domain}>"


def mailer_from_config(config) -> Mailer:
    """SMTP when SURVEYAPP_MAIL_SERVER is set, else the in-app outbox.

    :raises ValueError: naming the setting when the security mode is unknown.
    """
    if not config.get("MAIL_SERVER"):
        return OutboxMailer()
    security = str(config.get("MAIL_SECURITY", "starttls")).lower()
    if security not in ("starttls", "tls", "none"):
        raise ValueError(
            f"SURVEYAPP_MAIL_SECURITY must be starttls, tls or none, not {security!r}."
        )
    settings = SmtpSettings(
        host=config["MAIL_SERVER"],
        port=int(config.get("MAIL_PORT") or 587),
        security=security,
        username=config.get("MAIL_USERNAME", ""),
        password=config.get("MAIL_PASSWORD", ""),
    )
    return SmtpMailer(
        settings,
        sender=config["MAIL_FROM"],
        sender_name=config.get("MAIL_FROM_NAME", ""),
        reply_to=config.get("MAIL_REPLY_TO", ""),
    )
