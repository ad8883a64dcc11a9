"""Dose: the bands a programme reads attendance and mentoring in, and each person's dose.

Flask-free. A band is ``[low, high, label]`` (``high`` None for "or more"), as
``DoseBands`` stores it. Bands are written one a line, for example::

    0-4: fewer than 5 of 7
    5 or more: 5 or more of 7

They start at 0, follow on without a gap or an overlap, and the last may be open
("5 or more", or "5+"). A band's code in exports is its place in the list, from 1.

``dose_table`` gives each person of a programme (by ID number) the sessions attended,
offered, the proportion, the attendance band, the mentoring sessions had and their
band, counted by ``sessions.operations.attendance_by_person``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp.errors import SurveyError
from surveyapp.exports.codebook import Variable
from surveyapp.models import DoseBands, Participant, Programme, ProgrammeSession
from surveyapp.sessions.operations import MENTORING_KIND, attendance_by_person

__all__ = ["MENTORING_KIND"]

MAX_BANDS = 12
MAX_COUNT = 1000
_BAND = re.compile(
    r"^\s*(?P<low>\d+)\s*(?:(?:-|–|to)\s*(?P<high>\d+)|(?P<open>\+|or more))?"
    r"\s*(?::\s*(?P<label>.*))?$",
    re.IGNORECASE,
)

#: The columns ``dose_table`` returns, and the export variables made of them.
DOSE_COLUMNS = (
    "sessions_attended",
    "sessions_offered",
    "attendance_proportion",
    "attendance_band",
    "mentoring_sessions",
    "mentoring_band",
)


class BandProblem(SurveyError):
    """Bands that cannot be used; ``field`` names the form field, the message the line."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def parse_bands(text: str, *, field: str, what: str) -> list[list]:
    """Read bands written one a line (see the module's note).

    :param what: what is counted, for messages ("Attendance bands").
    :raises BandProblem: naming the line that cannot be used.
    """
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if len(lines) > MAX_BANDS:
        raise BandProblem(f"{what}: give at most {MAX_BANDS} bands.", field)
    bands: list[list] = []
    for number, line in enumerate(lines, 1):
        found = _BAND.match(line)
        where = f"{what}, line {number} (“{line.strip()}”)"
        if not found:
            raise BandProblem(
                f"{where}: write the band as two numbers with a dash, or a number and “or more”, "
                "then a colon and its name, for example 0-3: 0 to 3 of 7.",
                field,
            )
        low = int(found["low"])
        high = int(found["high"]) if found["high"] is not None else None
        is_open = found["open"] is not None
        if not is_open and high is None:
            high = low
        if max(low, high or 0) > MAX_COUNT:
            raise BandProblem(f"{where}: a count cannot be over {MAX_COUNT}.", field)
        if high is not None and high < low:
            raise BandProblem(
                f"{where}: the second number must not be smaller than the first.", field
            )
        if bands and bands[-1][1] is None:
            raise BandProblem(
                f"{where}: the band before it has no end (“or more”), so it must be last.", field
            )
        expected_low = 0 if not bands else bands[-1][1] + 1
        if low != expected_low:
            if number == 1:
                raise BandProblem(
                    f"{where}: the first band must start at 0, so nobody is left out.", field
                )
            gap = (
                "overlaps the band before"
                if low < expected_low
                else "leaves a gap after the band before"
            )
            raise BandProblem(f"{where}: it {gap}; start it at {expected_low}.", field)
        label = " ".join((found["label"] or "").split()) or _default_label(low, high)
        if len(label) > 60:
            raise BandProblem(f"{where}: keep the name to 60 characters.", field)
        bands.append([low, high, label])
    return bands


def _default_label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low} or more"
    return str(low) if low == high else f"{low}-{high}"


def bands_text(bands: list[list]) -> str:
    """Bands written one a line, as ``parse_bands`` reads them."""
    lines = []
    for low, high, label in bands or []:
        span = f"{low} or more" if high is None else (f"{low}" if low == high else f"{low}-{high}")
        lines.append(f"{span}: {label}")
    return "\n".join(lines)


def band_of(count: int | None, bands: list[list]) -> int | None:
    """The code (place from 1) of the band ``count`` falls in; None when none holds it."""
    if count is None:
        return None
    for code, (low, high, _label) in enumerate(bands or [], 1):
        if count >= low and (high is None or count <= high):
            return code
    return None


def bands_of(session: Session, programme: Programme) -> DoseBands | None:
    return session.get(DoseBands, programme.id)


def save_bands(
    session: Session,
    programme: Programme,
    *,
    attendance: list[list],
    mentoring: list[list],
    mentoring_kind: str = MENTORING_KIND,
) -> DoseBands:
    """Set the programme's bands (replacing any it had)."""
    bands = bands_of(session, programme)
    if bands is None:
        bands = DoseBands(programme_id=programme.id)
        session.add(bands)
    bands.attendance = attendance
    bands.mentoring = mentoring
    bands.mentoring_kind = " ".join(mentoring_kind.split()) or MENTORING_KIND
    session.flush()
    return bands


@dataclass(frozen=True)
class Bands:
    attendance: list[list]
    mentoring: list[list]


def programme_bands(session: Session, programme: Programme) -> Bands:
    stored = bands_of(session, programme)
    if stored is None:
        return Bands([], [])
    return Bands(list(stored.attendance or []), list(stored.mentoring or []))


def counts_dose(session: Session, programme: Programme) -> bool:
    """Whether the programme has sessions, so that its exports carry each person's dose."""
    return (
        session.scalar(
            select(ProgrammeSession.id)
            .where(ProgrammeSession.programme_id == programme.id)
            .limit(1)
        )
        is not None
    )


def dose_table(
    session: Session, programme: Programme, *, now: datetime | None = None
) -> pd.DataFrame:
    """Each person's dose, indexed by ID number, columns ``DOSE_COLUMNS``.

    :param now: count only sessions that started by then (a wave's closing time).
    """
    doses = attendance_by_person(session, programme, now=now)
    bands = programme_bands(session, programme)
    numbers = dict(
        session.execute(
            select(Participant.id, Participant.id_number).where(
                Participant.programme_id == programme.id
            )
        ).all()
    )
    rows = {}
    for person_id, dose in doses.items():
        rows[numbers[person_id]] = {
            "sessions_attended": dose.attended,
            "sessions_offered": dose.offered,
            "attendance_proportion": dose.proportion,
            "attendance_band": band_of(dose.attended, bands.attendance),
            "mentoring_sessions": dose.mentoring,
            "mentoring_band": band_of(dose.mentoring, bands.mentoring),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(DOSE_COLUMNS))
    frame.index.name = "id_number"
    for column in ("sessions_attended", "sessions_offered", "mentoring_sessions"):
        frame[column] = frame[column].astype("Int64")
    for column in ("attendance_band", "mentoring_band"):
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    frame["attendance_proportion"] = frame["attendance_proportion"].astype(float)
    return frame


def dose_variables(bands: Bands) -> list[Variable]:
    """The export variables of ``dose_table``, with the bands as value labels."""

    def band_labels(items: list[list]) -> dict:
        return {code: label for code, (_low, _high, label) in enumerate(items, 1)}

    return [
        Variable(
            "sessions_attended",
            "Sessions attended, as the registers record (mentoring sessions not counted)",
            "numeric", "scale", "dose", "sessions_attended", is_integer=True,
        ),
        Variable(
            "sessions_offered",
            "Sessions the person was expected at, or came to (mentoring sessions not counted)",
            "numeric", "scale", "dose", "sessions_offered", is_integer=True,
        ),
        Variable(
            "attendance_proportion",
            "Sessions attended out of sessions offered (0 to 1)",
            "numeric", "scale", "dose", "attendance_proportion",
        ),
        Variable(
            "attendance_band",
            "Attendance band (the programme's bands of sessions attended)",
            "numeric", "ordinal", "dose", "attendance_band",
            value_labels=band_labels(bands.attendance), is_integer=True,
        ),
        Variable(
            "mentoring_sessions",
            "Mentoring sessions had, as the registers record",
            "numeric", "scale", "dose", "mentoring_sessions", is_integer=True,
        ),
        Variable(
            "mentoring_band",
            "Mentoring band (the programme's bands of mentoring sessions had)",
            "numeric", "ordinal", "dose", "mentoring_band",
            value_labels=band_labels(bands.mentoring), is_integer=True,
        ),
    ]  # fmt: skip
