"""What the study team watches: response rates, non-respondents and the reminders' outbox.

Flask-free: every function takes the SQLAlchemy session and, where time matters,
``now`` and the study's time zone. Every number on a page comes from a fixed
number of GROUP BY queries, so building a page costs the same for ten people as
for fifty thousand (no query per row); only the lists that show people fetch a
row per person, one page at a time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from surveyapp.models import (
    Invitation,
    Message,
    Participant,
    Programme,
    ReminderStep,
    Wave,
)
from surveyapp.text import csv_text, safe_cell  # noqa: F401 (safe_cell is part of this API)
from surveyapp.timezones import to_local
from surveyapp.waves import small_counts

#: The groups a wave is broken down by, with their headings.
BREAKDOWNS = {"team": "Team", "organisation": "Organisation", "region": "Region", "role": "Role"}
#: Columns a breakdown can be sorted by.
SORTS = ("name", "invited", "completed", "rate", "gap")
#: Who a step goes to, in words. "everyone" reaches the same people as "not_completed".
AUDIENCE_WORDS = {
    "not_completed": "Everyone who has not finished",
    "everyone": "Everyone who has not finished",
    "not_opened": "People who have not opened their link",
    "started": "People who started but have not finished",
}
MESSAGE_STATES = ("queued", "sending", "sent", "failed", "cancelled")
CSV_HEADINGS = (
    "ID number",
    "Name",
    "Email",
    "Team",
    "Organisation",
    "Region",
    "Role",
    "Status",
    "Pages done",
    "Last reminder sent",
)
NOT_GIVEN = "(not given)"


def target_count(invited: int, target_rate: int) -> int:
    """How many completions the target asks for: the rate of the invited, rounded up."""
    return (invited * target_rate + 99) // 100


def percent(part: int, whole: int) -> int:
    """A whole percentage, rounded half up; 0 when there is nothing to divide by."""
    return math.floor(part * 100 / whole + 0.5) if whole else 0


# -- counts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """How far the people of a wave (or of one group in it) have got."""

    invited: int
    opened: int
    started: int
    completed: int
    withdrawn: int
    opted_out: int
    target_rate: int

    @property
    def rate(self) -> int:
        return percent(self.completed, self.invited)

    @property
    def target(self) -> int:
        return target_count(self.invited, self.target_rate)

    @property
    def needed(self) -> int:
        """How many more completions would reach the target."""
        return max(0, self.target - self.completed)

    @property
    def is_on_target(self) -> bool:
        return self.invited > 0 and self.needed == 0


def _count_columns():
    return (
        func.count(Invitation.id),
        func.count(Invitation.opened_at),
        func.count(Invitation.started_at),
        func.count(Invitation.completed_on),
        func.count(Participant.withdrawn_at),
        func.count(Invitation.opted_out_at),
    )


def wave_counts(session: Session, wave: Wave) -> Counts:
    """Count a wave's invitations by how far people got: one query."""
    row = session.execute(
        select(*_count_columns())
        .join(Participant, Invitation.participant_id == Participant.id)
        .where(Invitation.wave_id == wave.id)
    ).one()
    return Counts(*row, target_rate=wave.target_rate)


@dataclass(frozen=True)
class GroupRow:
    """One team, organisation, region or role of a wave."""

    name: str
    invited: int
    completed: int
    target_rate: int

    @property
    def rate(self) -> int:
        return percent(self.completed, self.invited)

    @property
    def gap(self) -> int:
        """Completions this group still needs to reach the wave's target rate."""
        return max(0, target_count(self.invited, self.target_rate) - self.completed)


def breakdown(
    session: Session, wave: Wave, by: str, *, sort: str = "name", descending: bool = False
) -> list[GroupRow]:
    """Invited, completed, rate and gap per group of one field, sorted in SQL: one query."""
    if by not in BREAKDOWNS:
        raise ValueError(f"Cannot break a wave down by {by!r}.")
    column = getattr(Participant, by)
    invited = func.count(Invitation.id)
    completed = func.count(Invitation.completed_on)
    needed = (invited * wave.target_rate + 99) // 100
    order = {
        "name": column,
        "invited": invited,
        "completed": completed,
        "rate": cast(completed, Float) / invited,
        "gap": case((needed > completed, needed - completed), else_=0),
    }.get(sort, column)
    rows = session.execute(
        select(column, invited, completed)
        .join(Participant, Invitation.participant_id == Participant.id)
        .where(Invitation.wave_id == wave.id)
        .group_by(column)
        .order_by(order.desc() if descending else order.asc(), column.asc())
    )
    return [GroupRow(name or NOT_GIVEN, n, done, wave.target_rate) for name, n, done in rows]


def allowed_sort(sort: str | None, *, shows_counts: bool) -> str:
    """The sort asked for when the reader may sort by it, else "name"."""
    return sort if sort in (SORTS if shows_counts else small_counts.RATE_SORTS) else "name"


def breakdowns(
    session: Session,
    wave: Wave,
    *,
    shows_counts: bool,
    threshold: int,
    total_completed: int,
    sort: str = "name",
    descending: bool = False,
) -> dict[str, list]:
    """Every breakdown as its reader may see it: ``GroupRow`` counts for those who chase
    responses, else ``small_counts.RateRow`` rates of groups at or over the threshold."""
    if shows_counts:
        return {
            by: breakdown(session, wave, by, sort=sort, descending=descending) for by in BREAKDOWNS
        }
    return {
        by: small_counts.rates_only(
            breakdown(session, wave, by),
            threshold,
            total_completed=total_completed,
            sort=sort,
            descending=descending,
        )
        for by in BREAKDOWNS
    }


# -- over time ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """One day of a wave: completions that day and so far, and the reminders that went out."""

    day: date
    completed: int
    cumulative: int
    reminders: tuple[str, ...] = ()


def _hour_of(session: Session, column):
    """The UTC hour of a stored time as text; the local day is worked out from it in Python.

    Grouping by hour keeps the rows bounded by the length of the wave, not the
    number of people, and lets Python apply the study's time zone, clock changes
    included (for zones whose offset is whole hours, as Europe/London's is).
    """
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


def _local_day(hour: str, zone: str) -> date:
    return to_local(datetime.strptime(hour, "%Y-%m-%d %H"), zone).date()


def completions_by_day(session: Session, wave: Wave, *, now: datetime, zone: str) -> list[Day]:
    """Completions per local day from the wave's opening to today or its closing: two queries.

    Reminder days come from messages actually sent: the days each step's
    messages went out, by the time they were sent. An anonymous wave's completions
    count on the day kept (``completed_on``, a UTC date), as it keeps no time.
    """
    start = to_local(wave.opens_at, zone).date()
    end = to_local(min(now, wave.closes_at), zone).date()
    if now < wave.opens_at:
        return []
    hour = _hour_of(session, Invitation.completed_at)
    per_day: dict[date, int] = {}
    for bucket, on, n in session.execute(
        select(hour, Invitation.completed_on, func.count(Invitation.id))
        .where(Invitation.wave_id == wave.id, Invitation.completed_on.is_not(None))
        .group_by(hour, Invitation.completed_on)
    ):
        # An anonymous wave keeps only the day (in UTC), not the time it could be moved by.
        day = max(_local_day(bucket, zone) if bucket is not None else on, start)
        per_day[day] = per_day.get(day, 0) + n
    sent_hour = _hour_of(session, Message.sent_at)
    reminders: dict[date, list[str]] = {}
    for label, bucket in session.execute(
        select(ReminderStep.label, sent_hour)
        .join(ReminderStep, Message.step_id == ReminderStep.id)
        .where(Message.wave_id == wave.id, Message.state == "sent", Message.sent_at.is_not(None))
        .group_by(ReminderStep.id, ReminderStep.label, ReminderStep.position, sent_hour)
        .order_by(ReminderStep.position)
    ):
        labels = reminders.setdefault(_local_day(bucket, zone), [])
        if label not in labels:
            labels.append(label)
    end = max([end, *per_day, *reminders])
    days, total, day = [], 0, start
    while day <= end:
        total += per_day.get(day, 0)
        days.append(Day(day, per_day.get(day, 0), total, tuple(reminders.get(day, ()))))
        day += timedelta(days=1)
    return days


# -- non-respondents ---------------------------------------------------------------------


@dataclass(frozen=True)
class NonRespondent:
    """Someone invited who has not completed and is not withdrawn, with what a caller needs."""

    invitation_id: int
    participant_id: int
    id_number: str
    name: str
    email: str
    team: str
    organisation: str
    region: str
    role: str
    opened_at: datetime | None
    started_at: datetime | None
    opted_out_at: datetime | None
    pages_done: int
    pages_total: int
    last_reminder_at: datetime | None

    @property
    def status(self) -> str:
        if self.opted_out_at is not None:
            return "Opted out"
        if self.started_at is not None:
            return "Started"
        if self.opened_at is not None:
            return "Opened, not started"
        return "Not opened"

    @property
    def progress(self) -> str:
        if self.started_at is None or not self.pages_total:
            return ""
        return f"{self.pages_done} of {self.pages_total}"


@dataclass(frozen=True)
class Paged:
    """One page of a list, with what a pager needs."""

    items: list
    total: int
    page: int
    pages: int
    per_page: int


def paged(items: list, total: int, page: int, per_page: int) -> Paged:
    return Paged(items, total, page, max(1, -(-total // per_page)), per_page)


def _non_respondents_query(wave: Wave):
    last_sent = (
        select(Message.invitation_id, func.max(Message.sent_at).label("last_sent"))
        .where(Message.wave_id == wave.id, Message.state == "sent")
        .group_by(Message.invitation_id)
        .subquery()
    )
    return (
        select(
            Invitation.id,
            Participant.id,
            Participant.id_number,
            Participant.name,
            Participant.email,
            Participant.team,
            Participant.organisation,
            Participant.region,
            Participant.role,
            Invitation.opened_at,
            Invitation.started_at,
            Invitation.opted_out_at,
            Invitation.pages_done,
            Invitation.pages_total,
            last_sent.c.last_sent,
        )
        .join(Participant, Invitation.participant_id == Participant.id)
        .outerjoin(last_sent, last_sent.c.invitation_id == Invitation.id)
        .where(
            Invitation.wave_id == wave.id,
            Invitation.completed_on.is_(None),
            Participant.withdrawn_at.is_(None),
        )
    )


def non_respondents(session: Session, wave: Wave, *, page: int = 1, per_page: int = 50) -> Paged:
    """One page of the people who have not completed, in ID number order: two queries."""
    query = _non_respondents_query(wave)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = session.execute(
        query.order_by(Participant.id_number).limit(per_page).offset((page - 1) * per_page)
    )
    return paged([NonRespondent(*row) for row in rows], total, page, per_page)


def all_non_respondents(session: Session, wave: Wave) -> list[NonRespondent]:
    """Everyone who has not completed, sorted by ID number in Python (the same on any database)."""
    rows = session.execute(_non_respondents_query(wave))
    return sorted((NonRespondent(*row) for row in rows), key=lambda person: person.id_number)


def non_respondents_csv(people: Iterable[NonRespondent], *, zone: str) -> str:
    """The phone follow-up list as CSV text, with headings, formulas neutralised."""
    return csv_text(
        CSV_HEADINGS,
        (
            (
                person.id_number,
                person.name,
                person.email,
                person.team,
                person.organisation,
                person.region,
                person.role,
                person.status,
                person.progress or "0",
                f"{to_local(person.last_reminder_at, zone):%Y-%m-%d %H:%M}"
                if person.last_reminder_at
                else "",
            )
            for person in people
        ),
    )


def allocate(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Share ``total`` between groups in proportion to their sizes (largest remainder).

    Every group gets the whole part of its share; the places left go to the largest
    remainders, ties to the larger group, then by name, so the result is repeatable.
    """
    people = sum(sizes.values())
    total = min(total, people)
    if not people or total <= 0:
        return {name: 0 for name in sizes}
    exact = {name: size * total / people for name, size in sizes.items()}
    shares = {name: math.floor(value) for name, value in exact.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(
        sizes, key=lambda name: (-(exact[name] - shares[name]), -sizes[name], name)
    )
    for name in by_remainder[:left]:
        shares[name] += 1
    return shares


@dataclass(frozen=True)
class Sample:
    people: list[NonRespondent]
    #: How many non-respondents the sample was drawn from.
    drawn_from: int
    #: Per region, when stratified: (region, non-respondents, chosen).
    strata: list[tuple[str, int, int]] = field(default_factory=list)


def sample_non_respondents(
    session: Session, wave: Wave, *, size: int, seed: int, by_region: bool = False
) -> Sample:
    """A reproducible random sample of non-respondents: the same seed gives the same people.

    People are put in ID number order, then drawn with ``random.Random(seed)``;
    by region, each region gets a share in proportion to its non-respondents.
    """
    people = all_non_respondents(session, wave)
    rng = random.Random(seed)
    if not by_region:
        chosen = rng.sample(people, min(size, len(people)))
        return Sample(sorted(chosen, key=lambda p: p.id_number), len(people))
    regions: dict[str, list[NonRespondent]] = {}
    for person in people:
        regions.setdefault(person.region or NOT_GIVEN, []).append(person)
    shares = allocate({name: len(group) for name, group in regions.items()}, size)
    chosen, strata = [], []
    for name in sorted(regions):
        picked = rng.sample(regions[name], shares[name])
        chosen.extend(sorted(picked, key=lambda p: p.id_number))
        strata.append((name, len(regions[name]), shares[name]))
    return Sample(chosen, len(people), strata)


# -- programmes --------------------------------------------------------------------------


@dataclass(frozen=True)
class WaveRow:
    wave: Wave
    counts: Counts
    #: Of the first wave's completers, how many completed this wave; None for the first wave.
    retained: int | None


@dataclass(frozen=True)
class ProgrammeOverview:
    rows: list[WaveRow]
    #: How many completed the first wave (the base of retention).
    base: int


def programme_overview(session: Session, programme: Programme) -> ProgrammeOverview:
    """A programme's waves side by side, with retention from the first wave: three queries.

    The waves made for single sessions (an evaluation after each) are left out: they are
    listed on the programme's "Evaluation after each session" page, and retention from a
    baseline means nothing for them.
    """
    waves = [wave for wave in programme.waves if wave.session_id is None]
    if not waves:
        return ProgrammeOverview([], 0)
    counted = {
        wave_id: rest
        for wave_id, *rest in session.execute(
            select(Invitation.wave_id, *_count_columns())
            .join(Participant, Invitation.participant_id == Participant.id)
            .join(Wave, Invitation.wave_id == Wave.id)
            .where(Wave.programme_id == programme.id, Wave.session_id.is_(None))
            .group_by(Invitation.wave_id)
        )
    }
    first = waves[0]
    earlier = select(Invitation.participant_id).where(
        Invitation.wave_id == first.id, Invitation.completed_on.is_not(None)
    )
    retained = dict(
        session.execute(
            select(Invitation.wave_id, func.count(Invitation.id))
            .join(Wave, Invitation.wave_id == Wave.id)
            .where(
                Wave.programme_id == programme.id,
                Invitation.completed_on.is_not(None),
                Invitation.participant_id.in_(earlier),
            )
            .group_by(Invitation.wave_id)
        ).all()
    )
    rows = [
        WaveRow(
            wave,
            Counts(*counted.get(wave.id, (0,) * 6), target_rate=wave.target_rate),
            None if wave.id == first.id else retained.get(wave.id, 0),
        )
        for wave in waves
    ]
    return ProgrammeOverview(rows, retained.get(first.id, 0))
