"""Staff accounts: create them, check a sign-in (Flask-free).

Passwords are hashed with argon2id. A failed sign-in never says whether the
email or the password was wrong, and takes as long either way.
"""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp.audit import operations as audit
from surveyapp.auth import two_step as two_step_rules
from surveyapp.errors import SurveyError
from surveyapp.models import ROLES, User
from surveyapp.text import is_email

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verified against when no account matches, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("not a real password")


class AccountProblem(SurveyError):
    """An account cannot be created or changed as asked; the message says why."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_rules(password: str) -> None:
    """:raises AccountProblem: when the password is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountProblem(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")


def create_user(session: Session, *, email: str, password: str, role: str, now: datetime) -> User:
    """Create a staff account.

    :raises AccountProblem: for an unknown role, a bad email, a short password or an email
        already in use.
    """
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountProblem(f"The role must be one of: {', '.join(ROLES)}; not “{role}”.")
    if not is_email(email):
        raise AccountProblem(f"“{email}” is not an email address in the correct format.")
    check_password_rules(password)
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise AccountProblem(f"There is already an account for {email}.")
    user = User(email=email, password_hash=_hasher.hash(password), role=role, created_at=now)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    check_password_rules(password)
    user.password_hash = _hasher.hash(password)
    session.flush()


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    now: datetime,
    address: str = "",
    two_step: str = "managers",
) -> User | None:
    """Return the active user whose email and password match, or None.

    Either way the attempt goes in the audit log (committed by the caller). ``two_step`` is
    the REQUIRE_TWO_STEP setting: when the person must give a code next, the log says the
    password was accepted, and the sign-in itself is written once the code is.
    """
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        accepted = user is not None and user.is_active
    except (VerificationError, InvalidHashError):
        accepted = False
    if not accepted:
        # Only an account's own email is kept: text typed in the email box could be a password.
        who = user.email if user is not None else "(no such account)"
        why = "an account that cannot sign in" if user and not user.is_active else "wrong details"
        audit.record(
            session,
            action="sign_in_failed",
            summary=f"Sign-in refused: {why}",
            actor=None,
            actor_label=who,
            address=address,
            now=now,
        )
        session.flush()
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    if two_step_rules.is_asked(user, two_step):
        action, summary = "sign_in.password", "Password accepted; two-step verification next"
    else:
        user.last_signed_in_at = now
        action, summary = "sign_in", "Signed in"
    audit.record(session, action=action, summary=summary, actor=user, address=address, now=now)
    session.flush()
    return user


def check_password(user: User, password: str) -> bool:
    """Whether ``password`` is ``user``'s (for asking again before a protected action)."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))
