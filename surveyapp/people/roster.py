"""The cohort roster: import a cohort file, find and withdraw people (Flask-free).

Reading the file is ``cohort_file``'s; what it read is previewed and imported here.
Functions that write take the session and ``now``; they flush and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
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


@dataclass(frozen=True)
class RowOutcome:
    """What importing one good row of a file does to the programme, for the preview."""

    line: int
    id_number: str
    #: "add", "update", "unchanged" or "erased" (left out: they asked to be erased).
    outcome: str
    #: The standard columns an update changes ("email", "team"), in the usual order.
    fields: tuple[str, ...] = ()
    #: The further columns it changes, by their heading.
    further: tuple[str, ...] = ()
    #: Their contact details were removed: a file does not bring them back.
    contact_removed: bool = False

    @property
    def sentence(self) -> str:
        """``Updates A012: email changed``: what the preview says of the row."""
        kept = "; their name and email stay removed" if self.contact_removed else ""
        if self.outcome == "add":
            return f"Adds {self.id_number}"
        if self.outcome == "erased":
            return f"Leaves out {self.id_number}: they asked for their data to be erased"
        if self.outcome == "update":
            changes = [*self.fields, *(f"“{heading}”" for heading in self.further)]
            return f"Updates {self.id_number}: {_and_list(changes)} changed{kept}"
        return f"No change to {self.id_number}{kept}"


def plan_import(
    session: Session,
    programme: Programme,
    parsed: ParsedCohort,
    *,
    erasure_key: bytes = b"",
) -> list[RowOutcome]:
    """Say, row by row, what importing ``parsed`` would do; nothing is changed.

    ``import_cohort`` does exactly this, so the preview and the import always agree.
    """
    return _plan(_people_by_id(session, programme), programme, parsed, erasure_key)


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
    existing = _people_by_id(session, programme)
    outcomes = _plan(existing, programme, parsed, erasure_key)
    for row, outcome in zip(parsed.rows, outcomes, strict=True):
        if outcome.outcome == "add":
            session.add(
                Participant(
                    programme=programme,
                    **{name: getattr(row, name) for name in STANDARD_FIELDS},
                    attributes=dict(row.attributes),
                    created_at=now,
                    updated_at=now,
                )
            )
        elif outcome.outcome == "update":
            participant = existing[row.id_number]
            for name in outcome.fields:
                setattr(participant, name, getattr(row, name))
            if outcome.further:
                # A new dict, so SQLAlchemy sees the JSON column change.
                participant.attributes = {**(participant.attributes or {}), **row.attributes}
            participant.updated_at = now
    session.flush()
    return summarise(outcomes)


def summarise(outcomes: list[RowOutcome]) -> ImportSummary:
    """Count the people a planned import adds, updates, leaves alone and leaves out."""
    count = Counter(outcome.outcome for outcome in outcomes)
    return ImportSummary(
        added=count["add"], updated=count["update"], unchanged=count["unchanged"],
        erased=count["erased"],
    )  # fmt: skip


def _people_by_id(session: Session, programme: Programme) -> dict[str, Participant]:
    return {
        participant.id_number: participant
        for participant in session.scalars(
            select(Participant).where(Participant.programme_id == programme.id)
        )
    }


def _plan(
    existing: dict[str, Participant],
    programme: Programme,
    parsed: ParsedCohort,
    erasure_key: bytes,
) -> list[RowOutcome]:
    columns = [
        name for name in STANDARD_FIELDS if name in parsed.standard_columns and name != "id_number"
    ]
    outcomes = []
    for row in parsed.rows:
        participant = existing.get(row.id_number)
        if participant is None:
            erased = erasure_key and (
                erasure_marker(erasure_key, programme.id, row.id_number) in existing
            )
            outcomes.append(RowOutcome(row.line, row.id_number, "erased" if erased else "add"))
            continue
        removed = participant.contact_removed_at is not None
        fields = tuple(
            name
            for name in columns
            if not (removed and name in CONTACT_FIELDS)
            and getattr(participant, name) != getattr(row, name)
        )
        current = {} if removed else (participant.attributes or {})
        further = tuple(
            heading
            for heading, value in row.attributes.items()
            if not removed and current.get(heading) != value
        )
        outcome = "update" if fields or further else "unchanged"
        outcomes.append(RowOutcome(row.line, row.id_number, outcome, fields, further, removed))
    return outcomes


def _and_list(texts: list[str]) -> str:
    """``name, team and email``."""
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]


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
