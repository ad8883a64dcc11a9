"""Sending email: a real SMTP conversation when configured, else the in-app outbox.

Flask-free. A mailer is opened once per batch so one connection carries many
messages; the outbox mailer keeps nothing itself: the Message rows are the
outbox, and delivering to it only marks them as kept in the app.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from typing import Protocol


class DeliveryFailed(Exception):
    """The mail server refused a message; ``str()`` is its answer."""


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

    def send(self, *, to: str, subject: str, body: str, message_id: str) -> None: ...

    def close(self) -> None: ...


class OutboxMailer:
    """The embedded default: messages stay in the app for an administrator to read."""

    transport = "outbox"

    def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        return None

    def close(self) -> None:
        return None


class SmtpMailer:
    """One SMTP connection reused for a batch; reconnects once if the server dropped it."""

    transport = "smtp"

    def __init__(self, settings: SmtpSettings, sender: str, sender_name: str = "") -> None:
        self.settings = settings
        self.sender = sender
        self.sender_name = sender_name
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        if settings.security == "tls":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                connection.starttls(context=ssl.create_default_context())
        if settings.username:
            connection.login(settings.username, settings.password)
        return connection

    def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        message = EmailMessage()
        message["From"] = formataddr((self.sender_name, self.sender))
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = message_id
        message.set_content(body)
        for attempt in (1, 2):
            try:
                if self._connection is None:
                    self._connection = self._connect()
                self._connection.send_message(message)
                return
            except smtplib.SMTPServerDisconnected as error:
                self._connection = None
                if attempt == 2:
                    raise DeliveryFailed(
                        f"The mail server closed the connection: {error}"
                    ) from error
            except smtplib.SMTPResponseException as error:
                text = error.smtp_error.decode("utf-8", "replace")
                if error.smtp_code == 421:  # server going away: drop the connection
                    self.close()
                raise DeliveryFailed(f"{error.smtp_code} {text}") from error
            except smtplib.SMTPRecipientsRefused as error:
                answers = "; ".join(
                    f"{code} {reason.decode('utf-8', 'replace')}"
                    for code, reason in error.recipients.values()
                )
                raise DeliveryFailed(answers) from error
            except (OSError, smtplib.SMTPException) as error:
                self._connection = None
                raise DeliveryFailed(f"Could not reach the mail server: {error}") from error

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._connection = None


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
    return SmtpMailer(settings, sender=config["MAIL_FROM"])
