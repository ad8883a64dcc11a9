"""Sessions of a programme, who is expected at them, and who came (Flask-free).

Who is expected at a session is read from ``ProgrammeSession.expected``:

- empty: the whole cohort;
- ``group`` (true), ``role`` and ``team`` narrow it: everyone must match each one given.
  A person is in the session's group when their team, region or organisation, or any
  further column of the cohort file, is the group's name (ignoring case);
- ``participant`` (ids) adds the people named, whatever the rest says.

Nobody withdrawn before a session starts is expected at it. Functions take the database
session (and ``now`` when time matters); they flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveyapp.errors import SurveyError
from surveyapp.models import (
    SESSION_KINDS,
    Attendance,
    DoseBands,
    Participant,
    Programme,
    ProgrammeSession,
    Wave,
)
from surveyapp.timezones import to_local

#: The session kind counted as mentoring when the programme has not said otherwise.
MENTORING_KIND = "mentoring"


@dataclass(frozen=True)
class Dose:
    """One person's share of a programme: sessions attended out of offered, and mentoring."""

    #: Sessions (other than mentoring) the person came to.
    attended: int
    #: Sessions (other than mentoring) the person was expected at, or came to.
    offered: int
    #: Mentoring sessions the person had.
    mentoring: int

    @property
    def proportion(self) -> float | None:
        """Attended out of offered, from 0 to 1; None when nothing was offered."""
        return self.attended / self.offered if self.offered else None


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def in_group(participant: Participant, group: str) -> bool:
    """Whether the person belongs to a session's group (see the module's note)."""
    wanted = _folded(group)
    if not wanted:
        return False
    values = [participant.team, participant.region, participant.organisation]
    values += [str(value) for value in (participant.attributes or {}).values()]
    return any(_folded(value or "") == wanted for value in values)


def is_expected(participant: Participant, programme_session: ProgrammeSession) -> bool:
    """Whether the person is expected at the session, as its ``expected`` says."""
    if participant.programme_id != programme_session.programme_id:
        return False
    if participant.withdrawn_at is not None and participant.withdrawn_at <= (
        programme_session.starts_at
    ):
        return False
    expected = programme_session.expected or {}
    if participant.id in set(expected.get("participant") or ()):
        return True
    filters = [
        bool(expected.get("group")),
        bool(expected.get("role")),
        bool(expected.get("team")),
    ]
    if not any(filters):
        # Only named people, or nothing at all (the whole cohort).
        return not expected.get("participant")
    if expected.get("group") and not in_group(participant, programme_session.group):
        return False
    if expected.get("role") and _folded(participant.role) not in {
        _folded(role) for role in expected["role"]
    }:
        return False
    if expected.get("team") and _folded(participant.team) not in {
        _folded(team) for team in expected["team"]
    }:
        return False
    return True


def expected_participants(
    session: Session, programme_session: ProgrammeSession
) -> list[Participant]:
    """Everyone expected at the session, by ID number."""
    people = session.scalars(
        select(Participant)
        .where(Participant.programme_id == programme_session.programme_id)
        .order_by(Participant.id_number)
    )
    return [person for person in people if is_expected(person, programme_session)]


def mentoring_kind(session: Session, programme: Programme) -> str:
    """The session kind the programme counts as mentoring."""
    bands = session.get(DoseBands, programme.id)
    return (bands.mentoring_kind if bands else "") or MENTORING_KIND


def attendance_by_person(
    session: Session, programme: Programme, *, now: datetime | None = None
) -> dict[int, Dose]:
    """Each participant's dose of the programme, by participant id (everyone in the cohort).

    ``offered`` counts the sessions (other than mentoring) a person was expected at, or came
    to; ``attended`` those the register says they came to; ``mentoring`` the mentoring
    sessions they came to. Given ``now``, sessions that have not started by then are left
    out; without it every session counts.
    """
    people = list(
        session.scalars(select(Participant).where(Participant.programme_id == programme.id))
    )
    query = select(ProgrammeSession).where(ProgrammeSession.programme_id == programme.id)
    if now is not None:
        query = query.where(ProgrammeSession.starts_at <= now)
    sessions = list(session.scalars(query))
    came = {
        (row.session_id, row.participant_id)
        for row in session.scalars(
            select(Attendance)
            .join(ProgrammeSession)
            .where(ProgrammeSession.programme_id == programme.id, Attendance.attended.is_(True))
        )
    }
    mentoring = _folded(mentoring_kind(session, programme))
    counts = {person.id: [0, 0, 0] for person in people}
    for programme_session in sessions:
        is_mentoring = _folded(programme_session.kind) == mentoring
        for person in people:
            attended = (programme_session.id, person.id) in came
            tally = counts[person.id]
            if is_mentoring:
                tally[2] += attended
            elif attended or is_expected(person, programme_session):
                tally[1] += 1
                tally[0] += attended
    return {pid: Dose(attended=a, offered=o, mentoring=m) for pid, (a, o, m) in counts.items()}


# -- planning sessions ---------------------------------------------------------------------


@dataclass(frozen=True)
class SessionDetails:
    """What a person gives for a session, from the form or a row of a file (times in UTC)."""

    kind: str
    group: str
    starts_at: datetime
    ends_at: datetime
    expected: dict
    title: str = ""
    notes: str = ""


@dataclass
class SessionPage:
    """One page of a programme's sessions, with what a pager needs."""

    items: list[ProgrammeSession]
    total: int
    page: int
    #: At least 1, so "page 1 of 1" reads right for an empty list.
    pages: int


def kind_of(text: str) -> str:
    """The stored kind for what a person typed: a known kind's key, or their own words."""
    cleaned = " ".join(text.split())
    for key, name in SESSION_KINDS.items():
        if _folded(cleaned) in (_folded(key), _folded(name)):
            return key
    return cleaned


def describe(programme_session: ProgrammeSession | SessionDetails, zone: str) -> str:
    """A session as a sentence names it: "Training day (West), 3 March 2031, 10:00 to 12:00"."""
    name = SESSION_KINDS.get(programme_session.kind, programme_session.kind)
    if programme_session.group:
        name += f" ({programme_session.group})"
    starts = to_local(programme_session.starts_at, zone)
    ends = to_local(programme_session.ends_at, zone)
    return f"{name}, {starts.day} {starts:%B %Y}, {starts:%H:%M} to {ends:%H:%M}"


def clashes(
    session: Session,
    programme: Programme,
    details: SessionDetails,
    *,
    leaving_out: int | None = None,
    also: list[SessionDetails] = (),
) -> list[ProgrammeSession | SessionDetails]:
    """Other sessions at overlapping times that the same people would be expected at.

    Two sessions clash when their times overlap and they have the same group, unless each
    names its own people and no one is named by both (two mentoring pairs may meet at
    once; two sets may too). ``also`` are sessions not yet saved, such as earlier rows of
    the same file.
    """
    query = select(ProgrammeSession).where(
        ProgrammeSession.programme_id == programme.id,
        ProgrammeSession.starts_at < details.ends_at,
        ProgrammeSession.ends_at > details.starts_at,
    )
    if leaving_out is not None:
        query = query.where(ProgrammeSession.id != leaving_out)
    others = [*session.scalars(query.order_by(ProgrammeSession.starts_at))]
    others += [
        other
        for other in also
        if other.starts_at < details.ends_at and other.ends_at > details.starts_at
    ]
    return [other for other in others if _same_people(other, details)]


def _same_people(one, other) -> bool:
    if _folded(one.group) != _folded(other.group):
        return False
    named = set((one.expected or {}).get("participant") or ())
    named_other = set((other.expected or {}).get("participant") or ())
    if named and named_other and not named & named_other:
        return False
    return True


def save_session(
    session: Session,
    programme: Programme,
    details: SessionDetails,
    *,
    now: datetime,
    programme_session: ProgrammeSession | None = None,
) -> ProgrammeSession:
    """Add a session to the programme, or change ``programme_session``; checks are the
    caller's (``clashes``, and whether a time in the past was meant)."""
    if programme_session is None:
        programme_session = ProgrammeSession(programme_id=programme.id, created_at=now)
        session.add(programme_session)
    programme_session.kind = details.kind
    programme_session.group = details.group
    programme_session.title = details.title
    programme_session.starts_at = details.starts_at
    programme_session.ends_at = details.ends_at
    programme_session.expected = dict(details.expected)
    programme_session.notes = details.notes
    programme_session.updated_at = now
    session.flush()
    return programme_session


def why_not_deleted(session: Session, programme_session: ProgrammeSession) -> str:
    """Why a session cannot be deleted ("" when it can): its evaluation wave needs it."""
    wave = session.scalar(select(Wave).where(Wave.session_id == programme_session.id))
    if wave is not None:
        return (
            f"This session cannot be deleted: the wave “{wave.label}” evaluates it. "
            "Its answers would lose their session."
        )
    return ""


def delete_session(session: Session, programme_session: ProgrammeSession) -> None:
    """Delete a session and its register (``why_not_deleted`` first)."""
    session.delete(programme_session)
    session.flush()


def session_page(
    session: Session, programme: Programme, *, page: int = 1, per_page: int = 50
) -> SessionPage:
    """The programme's sessions in time order, one page of them."""
    where = ProgrammeSession.programme_id == programme.id
    total = session.scalar(select(func.count(ProgrammeSession.id)).where(where)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    items = session.scalars(
        select(ProgrammeSession)
        .where(where)
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return SessionPage(items=list(items), total=total, page=page, pages=pages)


def participants_by_id_number(
    session: Session, programme: Programme, id_numbers: list[str]
) -> tuple[list[Participant], list[str]]:
    """The people of the programme with these ID numbers, and the ID numbers nobody has."""
    wanted = [number.strip() for number in id_numbers if number.strip()]
    found = {
        person.id_number.casefold(): person
        for person in session.scalars(
            select(Participant).where(Participant.programme_id == programme.id)
        )
    }
    people, unknown = [], []
    for number in wanted:
        person = found.get(number.casefold())
        if person is None:
            unknown.append(number)
        elif person not in people:
            people.append(person)
    return people, unknown


# -- registers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterLine:
    """One person on a session's register."""

    participant: Participant
    expected: bool
    #: True came, False did not, None not yet recorded.
    attended: bool | None


def register(session: Session, programme_session: ProgrammeSession) -> list[RegisterLine]:
    """Everyone expected at the session, and anyone else recorded on its register."""
    recorded = {row.participant_id: row for row in programme_session.attendance}
    expected = expected_participants(session, programme_session)
    lines = [
        RegisterLine(
            person,
            True,
            recorded[person.id].attended if person.id in recorded else None,
        )
        for person in expected
    ]
    listed = {person.id for person in expected}
    extra = sorted(
        (row for pid, row in recorded.items() if pid not in listed),
        key=lambda row: row.participant.id_number,
    )
    lines += [RegisterLine(row.participant, False, row.attended) for row in extra]
    return lines


class RegisterProblem(SurveyError):
    """The register cannot be changed as asked; the message says why."""


def mark(
    session: Session,
    programme_session: ProgrammeSession,
    participant: Participant,
    attended: bool,
    *,
    now: datetime,
    by: int | None,
) -> Attendance:
    """Record whether one person came to the session.

    :raises RegisterProblem: when the person is not in the session's programme, or is
        marked as coming to a session that has not started.
    """
    if participant.programme_id != programme_session.programme_id:
        raise RegisterProblem(
            f"{participant.id_number} is not in this programme, so cannot be on its register."
        )
    if attended and programme_session.starts_at > now:
        raise RegisterProblem(
            "This session has not started yet, so nobody can have come. Keep its register "
            "once it starts."
        )
    row = session.get(Attendance, (programme_session.id, participant.id))
    if row is None:
        row = Attendance(session_id=programme_session.id, participant_id=participant.id)
        session.add(row)
    if row.attended is not attended or row.recorded_at is None:
        row.attended = attended
        row.recorded_at = now
        row.recorded_by = by
    session.flush()
    return row


@dataclass(frozen=True)
class PersonSession:
    """One session in a person's list: whether they were expected, and whether they came."""

    programme_session: ProgrammeSession
    expected: bool
    #: True came, False did not, None not recorded.
    attended: bool | None


def sessions_of(session: Session, participant: Participant) -> list[PersonSession]:
    """Every session the person was expected at or is on the register of, in time order."""
    recorded = {
        row.session_id: row.attended
        for row in session.scalars(
            select(Attendance).where(Attendance.participant_id == participant.id)
        )
    }
    found = []
    for programme_session in session.scalars(
        select(ProgrammeSession)
        .where(ProgrammeSession.programme_id == participant.programme_id)
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    ):
        expected = is_expected(participant, programme_session)
        if expected or programme_session.id in recorded:
            found.append(
                PersonSession(programme_session, expected, recorded.get(programme_session.id))
            )
    return found
