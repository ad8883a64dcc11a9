""" "Forgot your password?" links (Flask-free): single use, valid for an hour.

The link carries 256 random bits; the database keeps only their SHA-256, so a copy of
the database opens no account. Asking gives the same answer whether or not the address
has an account (the view says so); using a link ends every session of the account, and
two-step verification is still asked at the next sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from surveyapp.mail import DeliveryFailed, mailer_from_config
from surveyapp.models import PasswordReset, User
from surveyapp.reminders import sending
from surveyapp.staff import operations as accounts

VALID_FOR = timedelta(hours=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, email: str, now: datetime) -> tuple[User, str] | None:
    """A new link for the active account of ``email``: (the account, the token), or None
    when there is no such account (the caller answers the same either way)."""
    user = accounts.find_user(session, email)
    if user is None or not user.is_active:
        return None
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(user_id=user.id, token_hash=_digest(token), created_at=now))
    session.flush()
    return user, token


def find(session: Session, token: str, now: datetime) -> PasswordReset | None:
    """The unused link of ``token`` made less than an hour ago, for an active account."""
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _digest(token)))
    if reset is None or reset.used_at is not None or now - reset.created_at >= VALID_FOR:
        return None
    user = session.get(User, reset.user_id)
    return reset if user is not None and user.is_active else None


def finish(session: Session, reset: PasswordReset, password: str, now: datetime) -> User:
    """Set the new password, spend this link and every other unused one of the account, and
    end the account's sessions.

    :raises accounts.AccountProblem: when the password breaks the rules (nothing changes).
    """
    user = session.get(User, reset.user_id)
    accounts.set_password(session, user, password)
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    user.session_version += 1
    session.flush()
    return user


def email_text(link: str, minutes: int = 60, *, by_administrator: bool = False) -> tuple[str, str]:
    """The subject and body of the email that carries the link."""
    asked = (
        "An administrator sent you this link to choose a new password for your surveyapp "
        "account.\n\n"
        if by_administrator
        else "Someone asked to reset the password of your surveyapp account.\n\n"
    )
    body = (
        f"{asked}To choose a new password, open this link within {minutes} minutes:\n\n"
        f"{link}\n\nThe link works once. If you did not ask, ignore this email: your "
        "password stays as it is.\n"
    )
    return "Reset your surveyapp password", body


def send_link(config, user: User, link: str, *, by_administrator: bool = False) -> str:
    """Email ``link`` to ``user`` through the configured mail server: "" when sent, else
    why not ("there is no mail server", or the server's answer)."""
    subject, body = email_text(link, by_administrator=by_administrator)
    try:
        mailer = mailer_from_config(config)
    except ValueError as problem:
        return str(problem)
    if mailer.transport == "outbox":
        return "there is no mail server"
    domain = sending.settings_from_config(config).domain
    try:
        mailer.send(to=user.email, subject=subject, body=body, message_id=make_msgid(domain=domain))
    except (DeliveryFailed, OSError) as failure:
        return f"the mail server said: {failure}"
    finally:
        mailer.close()
    return ""
