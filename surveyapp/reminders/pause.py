"""The pause a mail server asks for (Flask-free).

A ``421`` or another ``4xx`` answer means "not now", about the sender, not the message:
Exchange Online answers so after 30 messages in a minute from one mailbox. The run that
hears it stops at once and writes a pause here, so that the next scheduled run waits too;
each pause in a row is twice the last, from a minute to an hour, and a run that sends
without being held back clears it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from surveyapp.reminders.models import MailPause

FIRST = timedelta(minutes=1)
LONGEST = timedelta(hours=1)


def current(session: Session) -> MailPause | None:
    """The pause on record, over or not."""
    return session.scalar(select(MailPause).order_by(MailPause.id).limit(1))


def waiting(session: Session, now: datetime) -> MailPause | None:
    """The pause still running at ``now``, if any."""
    pause = current(session)
    return pause if pause is not None and pause.until > now else None


def hold(session: Session, reason: str, now: datetime) -> MailPause:
    """Note that the server held the run back: wait twice as long as last time."""
    pause = current(session)
    if pause is None:
        pause = MailPause(strikes=0, started_at=now)
        session.add(pause)
    pause.strikes += 1
    pause.until = now + min(LONGEST, FIRST * 2 ** (pause.strikes - 1))
    pause.reason = reason
    session.flush()
    return pause


def clear(session: Session) -> None:
    """The server took messages again without holding back: no pause."""
    session.execute(delete(MailPause))
