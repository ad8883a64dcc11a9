"""Your account: the browsers and devices a staff member is signed in on (Flask-free).

Each signed-in browser has a row; its cookie carries a random key, the row only that
key's SHA-256. Ending a row signs that browser out at its next request. "Sign out
everywhere else", a new password and a new role move the account's ``session_version``
on, which ends every row of an older version at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from ua_parser import parse

from surveyapp.models import StaffSession, User

#: "Last seen" is written at most this often, so that pages do not each write a row.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def begin(session: Session, user: User, user_agent: str, now: datetime) -> str:
    """A row for a browser just signed in as ``user``; returns the key for its cookie."""
    key = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            user_id=user.id,
            key_hash=_digest(key),
            session_version=user.session_version,
            user_agent=(user_agent or "")[:300],
            signed_in_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return key


def find(session: Session, key: str) -> StaffSession | None:
    """The row of a cookie's key, ended or not."""
    return session.scalar(select(StaffSession).where(StaffSession.key_hash == _digest(key)))


def is_live(row: StaffSession | None, user: User) -> bool:
    return (
        row is not None
        and row.user_id == user.id
        and row.ended_at is None
        and row.session_version == user.session_version
    )


def touch(row: StaffSession, user: User, now: datetime) -> None:
    """This browser was used now; it keeps its place when it moved the version on itself."""
    row.session_version = user.session_version
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now


def end(row: StaffSession, now: datetime) -> None:
    if row.ended_at is None:
        row.ended_at = now


def live_of(session: Session, user: User, *, since: datetime) -> list[StaffSession]:
    """The account's live sessions seen since ``since`` (older ones have timed out), the
    most recently seen first."""
    return list(
        session.scalars(
            select(StaffSession)
            .where(
                StaffSession.user_id == user.id,
                StaffSession.ended_at.is_(None),
                StaffSession.session_version == user.session_version,
                StaffSession.last_seen_at >= since,
            )
            .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())
        )
    )


def end_all_of(session: Session, user: User, now: datetime, *, but: int | None = None) -> int:
    """End every live row of ``user`` except ``but``; return how many."""
    statement = update(StaffSession).where(
        StaffSession.user_id == user.id, StaffSession.ended_at.is_(None)
    )
    if but is not None:
        statement = statement.where(StaffSession.id != but)
    result = session.execute(
        statement.values(ended_at=now).execution_options(synchronize_session=False)
    )
    return result.rowcount


def describe(user_agent: str) -> str:
    """How a person recognises a browser: "Chrome on Windows", "Mobile Safari on iOS"."""
    found = parse(user_agent or "")
    browser = found.user_agent.family if found.user_agent else ""
    system = found.os.family if found.os else ""
    if browser and browser != "Other" and system and system != "Other":
        return f"{browser} on {system}"
    if browser and browser != "Other":
        return browser
    return "An unknown browser"
