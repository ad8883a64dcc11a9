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

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp.models import Attendance, DoseBands, Participant, Programme, ProgrammeSession

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
