"""Retention: after a programme's retention date, contact details go (Flask-free)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveyapp.audit import operations as audit
from surveyapp.models import (
    Invitation,
    Message,
    Participant,
    Programme,
)
from surveyapp.privacy.operations import (
    UNSENT_STATES,
    holds_contact_details,
    remove_contact_details,
)
from surveyapp.timezones import to_local

# -- retention -------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionOutcome:
    """What the retention date did (or, in a dry run, would do) to one programme."""

    programme_id: int
    programme: str
    retention_until: date
    people: int
    messages_blanked: int
    messages_cancelled: int


def study_today(now: datetime, zone: str) -> date:
    """Today's date where the study is (Europe/London), not in UTC."""
    return to_local(now, zone).date()


def programmes_past_retention(session: Session, today: date) -> list[Programme]:
    """Programmes whose retention date is before ``today``, by name."""
    return list(
        session.scalars(
            select(Programme)
            .where(
                Programme.contact_retention_until.is_not(None),
                Programme.contact_retention_until < today,
            )
            .order_by(Programme.name, Programme.id)
        )
    )


def _people_with_details(session: Session, programme: Programme) -> list[Participant]:
    """Everyone in the programme still holding a name, an email or further columns.

    Checked on the values, not only the time stamp, so details loaded again from a
    cohort file after the date are removed by the next run too.
    """
    people = session.scalars(
        select(Participant)
        .where(Participant.programme_id == programme.id)
        .order_by(Participant.id_number, Participant.id)
    )
    return [
        person
        for person in people
        if person.contact_removed_at is None or holds_contact_details(person)
    ]


def _unsent_count(session: Session, people: Iterable[Participant]) -> tuple[int, int]:
    ids = [person.id for person in people]
    if not ids:
        return 0, 0
    base = (
        select(func.count())
        .select_from(Message)
        .join(Invitation, Message.invitation_id == Invitation.id)
        .where(Invitation.participant_id.in_(ids))
    )
    return (
        session.scalar(base.where((Message.to_address != "") | (Message.body != ""))) or 0,
        session.scalar(base.where(Message.state.in_(UNSENT_STATES))) or 0,
    )


def apply_retention(
    session: Session,
    *,
    now: datetime,
    zone: str,
    dry_run: bool = False,
    actor_label: str = "command line",
) -> list[RetentionOutcome]:
    """Remove contact details in every programme whose retention date has passed.

    A programme with someone still to do gets one audit event; a second run finds
    nobody and changes nothing. With ``dry_run`` nothing changes at all and the
    outcomes say what would be done.
    """
    outcomes = []
    for programme in programmes_past_retention(session, study_today(now, zone)):
        people = _people_with_details(session, programme)
        if not people:
            continue
        if dry_run:
            blanked, cancelled = _unsent_count(session, people)
        else:
            blanked = cancelled = 0
            for person in people:
                counts = remove_contact_details(session, person, now=now)
                blanked += counts.blanked
                cancelled += counts.cancelled
        outcome = RetentionOutcome(
            programme_id=programme.id,
            programme=programme.name,
            retention_until=programme.contact_retention_until,
            people=len(people),
            messages_blanked=blanked,
            messages_cancelled=cancelled,
        )
        outcomes.append(outcome)
        if not dry_run:
            audit.record(
                session,
                action="retention.apply",
                summary=(
                    f"Retention date {programme.contact_retention_until:%d/%m/%Y} passed: "
                    f"contact details of {outcome.people} participant(s) removed, "
                    f"{blanked} email(s) blanked, {cancelled} unsent email(s) cancelled"
                ),
                actor=None,
                actor_label=actor_label,
                programme_id=programme.id,
                object_type="programme",
                object_id=programme.id,
                now=now,
            )
    session.flush()
    return outcomes
