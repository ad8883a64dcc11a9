"""The cohort roster: import a cohort file, find and withdraw people (Flask-free).

Reading the file is ``cohort_file``'s; what it read is previewed and imported here.
Functions that write take the session and ``now``; they flush and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from surveyapp.models import Participant, Programme
from surveyapp.people.cohort_file import CONTACT_FIELDS, STANDARD_FIELDS, ParsedCohort
from surveyapp.people.cohort_file import parse_cohort_csv as parse_cohort_csv  # older callers
from surveyapp.text import CONTROL_CHARACTERS

STATUSES = ("active", "withdrawn")


@dataclass(frozen=True)
class ImportSummary:
    """How many people an import added, changed and found already up to date."""

    added: int
    updated: int
    unchanged: int
    #: Rows of people who asked to be erased: never added again.
    erased: int = 0


@dataclass
class ParticipantPage:
    """One page of a search, with what a pager needs."""

    items: list[Participant]
    total: int
    page: int
    #: At least 1, so "page 1 of 1" reads right for an empty list.
    pages: int
    per_page: int


def erasure_marker(key: bytes, programme_id: int, id_number: str) -> str:
    """What replaces the ID number of a person erased at their request.

    A keyed hash: it says nothing about the person to anyone without the app's secret
    key, but the same ID number in a later cohort file gives the same marker, so an
    erased person is never added again by mistake.
    """
    digest = hmac.new(key, f"{programme_id}:{id_number}".encode(), hashlib.sha256)
    return ERASED_PREFIX + digest.hexdigest()[:24]


ERASED_PREFIX = "erased-"


def import_cohort(
    session: Session,
    programme: Programme,
    parsed: ParsedCohort,
    *,
    now: datetime,
    erasure_key: bytes = b"",
) -> ImportSummary:
    """Add the file's new people and update those already in the programme.

    People are matched by ID number. Nobody is deleted or duplicated, and whether someone
    has withdrawn is never changed by a file. Columns missing from the file are left alone.
    A person erased at their request is not added again; a person whose contact details
    were removed (erasure or the retention date) does not get them back from a file.
    """
    existing = {
        participant.id_number: participant
        for participant in session.scalars(
            select(Participant).where(Participant.programme_id == programme.id)
        )
    }
    columns = [name for name in STANDARD_FIELDS if name in parsed.standard_columns]
    added = updated = unchanged = erased = 0
    for row in parsed.rows:
        participant = existing.get(row.id_number)
        if participant is None and erasure_key:
            if erasure_marker(erasure_key, programme.id, row.id_number) in existing:
                erased += 1
                continue
        if participant is None:
            participant = Participant(
                programme=programme,
                **{name: getattr(row, name) for name in STANDARD_FIELDS},
                attributes=dict(row.attributes),
                created_at=now,
                updated_at=now,
            )
            session.add(participant)
            existing[row.id_number] = participant
            added += 1
            continue
        changed = False
        removed = participant.contact_removed_at is not None
        for name in columns:
            if name == "id_number" or (removed and name in CONTACT_FIELDS):
                continue
            if getattr(participant, name) != getattr(row, name):
                setattr(participant, name, getattr(row, name))
                changed = True
        # A new dict, so SQLAlchemy sees the JSON column change.
        attributes = {**(participant.attributes or {}), **row.attributes}
        if not removed and attributes != (participant.attributes or {}):
            participant.attributes = attributes
            changed = True
        if changed:
            participant.updated_at = now
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return ImportSummary(added=added, updated=updated, unchanged=unchanged, erased=erased)


def search_participants(
    session: Session,
    programme: Programme,
    *,
    text: str = "",
    team: str = "",
    region: str = "",
    role: str = "",
    status: str = "",
    page: int = 1,
    per_page: int = 50,
) -> ParticipantPage:
    """Find a programme's participants, one page at a time, in ID number order.

    ``text`` matches part of the ID number, name or email, ignoring case. ``status`` is
    "active", "withdrawn" or "" for everyone; anything else also means everyone.
    """
    conditions = [Participant.programme_id == programme.id]
    # No stored text holds a control character; PostgreSQL refuses a NUL byte outright.
    text = CONTROL_CHARACTERS.sub("", text).strip()
    if text:
        pattern = f"%{_escape_like(text.lower())}%"
        # lower() on both sides is the same on SQLite and PostgreSQL (SQLite folds ASCII only).
        conditions.append(
            or_(
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (Participant.id_number, Participant.name, Participant.email)
                )
            )
        )
    for column, value in (
        (Participant.team, team),
        (Participant.region, region),
        (Participant.role, role),
    ):
        if value:
            conditions.append(column == value)
    if status == "active":
        conditions.append(Participant.withdrawn_at.is_(None))
    elif status == "withdrawn":
        conditions.append(Participant.withdrawn_at.is_not(None))

    per_page = max(1, per_page)
    total = session.scalar(select(func.count(Participant.id)).where(*conditions)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    items = session.scalars(
        select(Participant)
        .where(*conditions)
        .order_by(Participant.id_number, Participant.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return ParticipantPage(
        items=list(items), total=total, page=page, pages=pages, per_page=per_page
    )


def filter_values(session: Session, programme: Programme) -> dict[str, list[str]]:
    """List the distinct non-empty teams, regions, roles and organisations of a programme."""
    values = {}
    for name in ("team", "region", "role", "organisation"):
        column = getattr(Participant, name)
        found = session.scalars(
            select(column).where(Participant.programme_id == programme.id, column != "").distinct()
        )
        # Sorted here, so the order is the same on SQLite and PostgreSQL whatever the collation.
        values[name] = sorted(found)
    return values


def withdraw(session: Session, participant: Participant, *, now: datetime) -> None:
    """Mark a participant as withdrawn; withdrawing again keeps the first time."""
    if participant.withdrawn_at is None:
        participant.withdrawn_at = now
        participant.updated_at = now
        session.flush()


def _escape_like(text: str) -> str:
    """Make the user's % and _ match themselves, not any text."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
