"""Files of sessions and of attendance: check every row, then load the good ones (Flask-free).

Both files are read as the cohort file is (any spreadsheet's CSV, headings written however
the programme writes them) and checked against what is saved, so the report names every
row that cannot be loaded and why before anything is saved. Loading checks the file
again, so what is saved is what the report showed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp.models import Participant, Programme, ProgrammeSession
from surveyapp.people import cohort_file
from surveyapp.sessions import operations
from surveyapp.text import hidden_character
from surveyapp.timezones import missing_time, to_local, to_utc

_TIME = re.compile(r"([01]?\d|2[0-3])[:.]([0-5]\d)")
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d %B %Y", "%d %b %Y")
_YES = {"yes", "y", "true", "1", "attended", "came", "present", "x", "✓", "✔"}
_NO = {"no", "n", "false", "0", "absent", "did not attend", "did not come", "not attended"}

SESSION_HEADINGS = {
    "kind": ("kind", "session kind", "kind of session", "type", "session type"),
    "group": ("group", "set"),
    "title": ("title", "session title"),
    "date": ("date", "day", "session date"),
    "starts": ("start", "starts", "start time", "starts at", "from"),
    "ends": ("end", "ends", "end time", "ends at", "to", "until"),
    "roles": ("roles", "expected roles"),
    "teams": ("teams", "expected teams"),
    "id_numbers": ("id numbers", "expected id numbers", "named participants"),
    "notes": ("notes",),
}
ATTENDANCE_HEADINGS = {
    "id_number": ("id_number", *cohort_file.HEADING_ALIASES["id_number"]),
    "session": ("session", "session number", "session no"),
    "date": ("date", "session date", "day"),
    "attended": ("attended", "came", "present", "attendance"),
}


def parse_time(text: str) -> time | None:
    """A 24-hour time typed as HH:MM (or HH.MM); None when it is not one."""
    found = _TIME.fullmatch((text or "").strip())
    return time(int(found.group(1)), int(found.group(2))) if found else None


def parse_date(text: str) -> date | None:
    """A date as a spreadsheet writes it: 31/03/2031, 2031-03-31 or 31 March 2031."""
    text = " ".join((text or "").split())
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _spoken(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class RowNote:
    """A problem (the row is left out) or a warning (it is loaded) about one row."""

    #: Physical line in the file, the heading row being line 1.
    line: int
    message: str


@dataclass
class CheckedFile:
    """What a file holds: good rows, and what is wrong or worth knowing about the rest."""

    rows: list = field(default_factory=list)
    problems: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    #: Problems with the whole file; when there are any, ``rows`` is empty.
    file_problems: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ","

    @property
    def is_importable(self) -> bool:
        return not self.file_problems and bool(self.rows)


def _read(data: bytes, headings: dict[str, tuple[str, ...]], required: list[list[str]]):
    """The file's records as dicts by field name, or a CheckedFile saying why not."""
    text, encoding, problem = cohort_file.decode_text(data)
    if problem:
        return None, CheckedFile(file_problems=[problem], encoding=encoding)
    delimiter = cohort_file.detect_delimiter(text)
    lines = io.StringIO(text, newline="").readlines()
    records, problem = cohort_file.read_records(lines, delimiter)
    checked = CheckedFile(encoding=encoding, delimiter=cohort_file.DELIMITER_NAMES[delimiter])
    if problem:
        checked.file_problems.append(problem)
        return None, checked
    records = [record for record in records if any(record.cells)]
    if not records:
        checked.file_problems.append("The file is empty.")
        return None, checked
    by_heading = {
        cohort_file.heading_key(text): name for name, texts in headings.items() for text in texts
    }
    columns: dict[str, int] = {}
    for index, heading in enumerate(records[0].cells):
        name = by_heading.get(cohort_file.heading_key(heading))
        if name and name not in columns:
            columns[name] = index
    for choices in required:
        if not any(name in columns for name in choices):
            spoken = cohort_file.quoted_list([headings[name][0] for name in choices])
            checked.file_problems.append(
                f"There is no {spoken} column. The first row must name the columns."
            )
    if checked.file_problems:
        return None, checked
    rows = []
    for record in records[1:]:
        values = {
            name: record.cells[index] if index < len(record.cells) else ""
            for name, index in columns.items()
        }
        rows.append((record.first_line, values))
    if not rows:
        checked.file_problems.append("The file has a heading row but no rows under it.")
        return None, checked
    return rows, checked


# -- sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    line: int
    details: operations.SessionDetails


def check_sessions_file(
    session: Session, programme: Programme, data: bytes, *, now: datetime, zone: str
) -> CheckedFile:
    """Check a file of sessions, one a row: kind, date, start and end times, and optionally
    group, title, notes, and who is expected (roles, teams and ID numbers, separated by
    semicolons). A session overlapping a saved one, or an earlier row, for the same people
    is a problem; one in the past is loaded with a warning."""
    rows, checked = _read(data, SESSION_HEADINGS, [["kind"], ["date"], ["starts"], ["ends"]])
    if rows is None:
        return checked
    planned: list[operations.SessionDetails] = []
    for line, values in rows:
        problems: list[str] = [
            f"The {name} has a hidden character ({hidden}); delete it in the spreadsheet "
            "and save the file again"
            for name in ("kind", "group", "title", "notes")
            if (hidden := hidden_character(values.get(name, "")))
        ]
        kind = operations.kind_of(values.get("kind", ""))
        if not kind:
            problems.append("The kind of session is empty")
        elif len(kind) > 100:
            problems.append("The kind of session is longer than 100 characters")
        group = " ".join(values.get("group", "").split())
        if len(group) > 200:
            problems.append("The group is longer than 200 characters")
        day = parse_date(values.get("date", ""))
        if day is None:
            problems.append(
                f"“{values.get('date', '')}” is not a date; write it like 27/03/2031"
                if values.get("date")
                else "The date is empty"
            )
        starts, ends = parse_time(values.get("starts", "")), parse_time(values.get("ends", ""))
        for name, found in (("start", starts), ("end", ends)):
            if found is None:
                given = values.get(f"{name}s", "")
                problems.append(
                    f"The {name} time “{given}” is not a 24-hour time like 14:30"
                    if given
                    else f"The {name} time is empty"
                )
        if starts and ends and ends <= starts:
            problems.append("The end time is not after the start time")
        for name, found in (("start", starts), ("end", ends)):
            gap = missing_time(day, found, zone) if day and found else None
            if gap:
                problems.append(f"The {name} time is refused: {gap}")
        named, unknown = operations.participants_by_id_number(
            session, programme, _split(values.get("id_numbers", ""))
        )
        if unknown:
            problems.append(f"No one in this programme has the ID number {', '.join(unknown)}")
        if problems:
            checked.problems.append(RowNote(line, "; ".join(problems) + "."))
            continue
        expected: dict = {"group": True} if group else {}
        for name, column in (("role", "roles"), ("team", "teams")):
            if _split(values.get(column, "")):
                expected[name] = _split(values.get(column, ""))
        if named:
            expected["participant"] = [person.id for person in named]
        details = operations.SessionDetails(
            kind=kind,
            group=group,
            title=" ".join(values.get("title", "").split())[:200],
            starts_at=to_utc(day, starts, zone),
            ends_at=to_utc(day, ends, zone),
            expected=expected,
            notes=values.get("notes", "").strip(),
        )
        clash = operations.clashes(session, programme, details, also=planned)
        if clash:
            other = clash[0]
            where = "an earlier row" if isinstance(other, operations.SessionDetails) else "saved"
            checked.problems.append(
                RowNote(
                    line,
                    f"It overlaps {operations.describe(other, zone)} ({where}), "
                    "which has the same group.",
                )
            )
            continue
        planned.append(details)
        checked.rows.append(SessionRow(line, details))
        if details.starts_at < now:
            checked.warnings.append(
                RowNote(line, f"{_spoken(day)} has passed; it is loaded as a session held.")
            )
        if not _anyone_expected(session, programme, details):
            checked.warnings.append(RowNote(line, "Nobody in the cohort is expected at it yet."))
    return checked


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;,]", text or "") if part.strip()]


def _anyone_expected(session: Session, programme: Programme, details) -> bool:
    probe = ProgrammeSession(
        programme_id=programme.id,
        kind=details.kind,
        group=details.group,
        starts_at=details.starts_at,
        ends_at=details.ends_at,
        expected=details.expected,
    )
    people = session.scalars(select(Participant).where(Participant.programme_id == programme.id))
    return any(operations.is_expected(person, probe) for person in people)


def load_sessions(
    session: Session, programme: Programme, checked: CheckedFile, *, now: datetime
) -> int:
    """Save the good rows of a checked file of sessions; return how many."""
    for row in checked.rows:
        operations.save_session(session, programme, row.details, now=now)
    return len(checked.rows)


# -- attendance ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceRow:
    line: int
    participant: Participant
    programme_session: ProgrammeSession
    attended: bool


def check_attendance_file(
    session: Session, programme: Programme, data: bytes, *, now: datetime, zone: str
) -> CheckedFile:
    """Check a file of attendance: an ID number, the session's number or its date, and
    whether the person attended (yes or no) on each row."""
    rows, checked = _read(
        data, ATTENDANCE_HEADINGS, [["id_number"], ["session", "date"], ["attended"]]
    )
    if rows is None:
        return checked
    people = {
        person.id_number.casefold(): person
        for person in session.scalars(
            select(Participant).where(Participant.programme_id == programme.id)
        )
    }
    sessions = list(
        session.scalars(
            select(ProgrammeSession)
            .where(ProgrammeSession.programme_id == programme.id)
            .order_by(ProgrammeSession.starts_at)
        )
    )
    by_number = {str(found.id): found for found in sessions}
    seen: dict[tuple[int, int], int] = {}
    for line, values in rows:
        problems: list[str] = []
        number = values.get("id_number", "")
        person = people.get(number.casefold())
        if not number:
            problems.append("The ID number is empty")
        elif person is None:
            problems.append(f"No one in this programme has the ID number {number}")
        answer = " ".join(values.get("attended", "").split()).casefold()
        attended = True if answer in _YES else False if answer in _NO else None
        if attended is None:
            problems.append(
                f"“{values.get('attended', '')}” under “attended” is not yes or no"
                if answer
                else "Whether they attended is empty; write yes or no"
            )
        found, problem = _which_session(values, person, sessions, by_number, zone)
        if problem:
            problems.append(problem)
        if found is not None and attended and found.starts_at > now:
            problems.append(f"Session {found.id} has not taken place yet")
        if found is not None and person is not None:
            earlier = seen.get((found.id, person.id))
            if earlier:
                problems.append(f"Line {earlier} already gives {number} at session {found.id}")
            else:
                seen[(found.id, person.id)] = line
        if problems:
            checked.problems.append(RowNote(line, "; ".join(problems) + "."))
            continue
        checked.rows.append(AttendanceRow(line, person, found, attended))
        if not operations.is_expected(person, found):
            checked.warnings.append(
                RowNote(line, f"{number} was not expected at session {found.id}.")
            )
    return checked


def _which_session(values, person, sessions, by_number, zone):
    """The session a row means, by its number or its date, and a problem ("" if none)."""
    number = values.get("session", "").strip().removeprefix("Session ").strip()
    day_text = values.get("date", "")
    day = parse_date(day_text) if day_text else None
    if day_text and day is None:
        return None, f"“{day_text}” is not a date; write it like 27/03/2031"
    if number:
        found = by_number.get(number)
        if found is None:
            return None, f"There is no session number {number} in this programme"
        if day is not None and to_local(found.starts_at, zone).date() != day:
            held = to_local(found.starts_at, zone).date()
            return None, f"Session {number} is on {_spoken(held)}, not {_spoken(day)}"
        return found, ""
    if day is None:
        return None, "Give the session's number or its date"
    on_day = [found for found in sessions if to_local(found.starts_at, zone).date() == day]
    if not on_day:
        return None, f"There is no session on {_spoken(day)}"
    if len(on_day) > 1 and person is not None:
        theirs = [found for found in on_day if operations.is_expected(person, found)]
        on_day = theirs or on_day
    if len(on_day) > 1:
        return None, (
            f"There are {len(on_day)} sessions on {_spoken(day)}; give the session's number "
            "in a “Session” column"
        )
    return on_day[0], ""


@dataclass(frozen=True)
class AttendanceSummary:
    came: int
    did_not_come: int


def load_attendance(session: Session, checked: CheckedFile, *, now: datetime) -> AttendanceSummary:
    """Record the good rows of a checked attendance file (as imported, by no one)."""
    for row in checked.rows:
        operations.mark(
            session, row.programme_session, row.participant, row.attended, now=now, by=None
        )
    came = sum(row.attended for row in checked.rows)
    return AttendanceSummary(came=came, did_not_come=len(checked.rows) - came)
