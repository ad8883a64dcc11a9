"""How the response dashboard shows small numbers, so that they do not single people out.

Flask-free and pandas-free: takes the plain rows of ``dashboard`` and returns
what a page shows. Three rules, each with the programme's reporting threshold
``N``:

1. **Groups.** Invited and completed counts per team, organisation, region and
   role are for those who chase responses (who manage waves). Everyone else sees
   a group's response rate only when at least ``N`` of its people have
   completed; a smaller group says "Fewer than N responses". The wave's total is
   shown beside the groups, so while the hidden groups hold between 1 and
   ``N - 1`` completions between them, the smallest shown group is hidden too
   (the same complementary rule as the results pages), and the total minus the
   rates shown never gives a hidden group's count. The rates are sorted by rate
   or by name only: an order by a hidden count would tell it.
2. **Days.** A day's completions are shown when they are none, or when the
   day's count stands on its own at ``N`` or more. Otherwise days are joined into
   runs: the running total ("so far") is shown only at the end of a run, and the
   days inside it say "Fewer than N" or "N or more". A run ends only when its
   completions are at least ``N`` and no day in it can be worked out from the
   run's total and those words (they would be, if every day had 1 completion, or
   every day ``N - 1``). The last days are joined to the run before them until
   that holds for them too, because the wave's total gives their sum away. When
   no split of the days meets the rule, the days are not shown at all.
3. **Counts of people between waves** (who came back for a later wave): a count
   between 1 and ``N - 1``, of those who did or of those who did not, is given
   as a bound ("fewer than N", "more than B - N"), never exactly.

What this does not do: it decides each table on its own, so a region's rate
minus its teams' rates can still give a hidden team's count to someone who
knows every group's size (one decision across every table a reader sees is
the work of ``scoring``'s disclosure rule); and someone who opens the dashboard
every day sees the total grow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

#: Sorts a reader without counts may ask for; anything else sorts by name.
RATE_SORTS = ("name", "rate")


def fewer_than(threshold: int) -> str:
    return f"Fewer than {threshold}"


def shows_total(completed: int, threshold: int, *, shows_counts: bool) -> bool:
    """Whether the wave's counts and rate are shown: always with counts, else from ``N``."""
    return shows_counts or completed >= threshold


# -- groups ------------------------------------------------------------------------------

TOO_FEW = "too_few"
COMPLEMENTARY = "complementary"


@dataclass(frozen=True)
class RateRow:
    """One group of a breakdown as a reader without counts sees it: its rate, or why not."""

    name: str
    #: Whole percentage, or None when hidden.
    rate: int | None
    #: Why the rate is hidden ("" when it is shown).
    note: str


def hidden_note(reason: str, threshold: int) -> str:
    if reason == TOO_FEW:
        return f"{fewer_than(threshold)} responses"
    if reason == COMPLEMENTARY:
        return "Hidden so that a smaller group cannot be worked out from the total"
    return ""


def rates_only(
    rows: Sequence,
    threshold: int,
    *,
    total_completed: int,
    sort: str = "name",
    descending: bool = False,
) -> list[RateRow]:
    """Each group's rate when it is safe to show, from ``dashboard.GroupRow``-like rows.

    :param rows: objects with ``name``, ``invited``, ``completed`` and ``rate``.
    :param total_completed: the wave's completions, shown beside the groups when at
        least ``threshold``.
    """
    reasons = {row.name: TOO_FEW if row.completed < threshold else "" for row in rows}
    if total_completed >= threshold:
        hidden = sum(row.completed for row in rows if reasons[row.name])
        # Smallest first, ties by name, so the choice is the same every time.
        for row in sorted(rows, key=lambda row: (row.completed, row.name)):
            if not 0 < hidden < threshold:
                break
            if not reasons[row.name]:
                reasons[row.name] = COMPLEMENTARY
                hidden += row.completed
    shown = [
        RateRow(
            row.name,
            None if reasons[row.name] else row.rate,
            hidden_note(reasons[row.name], threshold),
        )
        for row in rows
    ]
    by_name = sorted(shown, key=lambda row: row.name, reverse=descending)
    if sort != "rate":
        return by_name
    with_rate = sorted(
        (row for row in by_name if row.rate is not None),
        key=lambda row: row.rate,
        reverse=descending,
    )
    return with_rate + sorted((row for row in shown if row.rate is None), key=lambda r: r.name)


# -- days --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownDay:
    """One day of the completions table as shown."""

    day: date
    #: The day's completions in words: "0", "12", "Fewer than 5" or "5 or more".
    that_day: str
    #: Completions so far, or None on a day inside a run.
    so_far: int | None
    reminders: tuple[str, ...] = ()


def _stands(counts: Sequence[int], threshold: int) -> bool:
    """Whether days with these counts may end a run: their sum, shown, gives no day away."""
    nonzero = [count for count in counts if count]
    if len(nonzero) <= 1:
        # No completions, or one day shown exactly: it must reach the threshold.
        return not nonzero or nonzero[0] >= threshold
    total = sum(nonzero)
    # What "Fewer than N" (1 to N - 1) and "N or more" allow the run's total to be.
    least = sum(1 if count < threshold else threshold for count in nonzero)
    most = (
        len(nonzero) * (threshold - 1) if all(count < threshold for count in nonzero) else math.inf
    )
    # Strictly between: then every day could be one more or one fewer.
    return total >= threshold and least < total < most


def runs(counts: Sequence[int], threshold: int) -> list[range] | None:
    """Split days into runs that may each show their total; None when no split does.

    Every day belongs to a run and the last run ends on the last day, since the
    wave's total is shown.
    """
    found: list[range] = []
    start = 0
    for end in range(1, len(counts) + 1):
        if _stands(counts[start:end], threshold):
            found.append(range(start, end))
            start = end
    while start < len(counts):
        if not found:
            return None
        start = found.pop().start
        if _stands(counts[start:], threshold):
            found.append(range(start, len(counts)))
            start = len(counts)
    return found


def shown_days(days: Sequence, threshold: int) -> list[ShownDay] | None:
    """The completions table from ``dashboard.Day`` rows; None when no day can be shown.

    :param days: objects with ``day``, ``completed``, ``cumulative`` and ``reminders``.
    """
    counts = [day.completed for day in days]
    split = runs(counts, threshold)
    if split is None:
        return None
    shown = []
    for run in split:
        alone = sum(1 for index in run if counts[index]) <= 1
        for index in run:
            count = counts[index]
            if count == 0 or alone:
                words = str(count)
            elif count < threshold:
                words = fewer_than(threshold)
            else:
                words = f"{threshold} or more"
            day = days[index]
            so_far = day.cumulative if index == run[-1] else None
            shown.append(ShownDay(day.day, words, so_far, tuple(day.reminders)))
    return shown


# -- people who came back ----------------------------------------------------------------


def retention_words(retained: int, base: int, threshold: int) -> str:
    """How many of ``base`` came back, in words that never give a small count exactly:
    "8", "fewer than 5" or, when fewer than 5 did not come back, "more than 7" (of 12).

    ``base`` itself is shown only from the threshold; below it, this returns "".
    """
    if base < threshold:
        return ""
    if 0 < retained < threshold:
        return f"fewer than {threshold}"
    if 0 < base - retained < threshold:
        return f"more than {base - threshold}"
    return str(retained)


@dataclass(frozen=True)
class WaveLine:
    """One wave of a programme's page as a reader without counts sees it."""

    wave: object
    invited: int
    #: "" when the wave's completions are under the threshold.
    started: str
    completed: str
    rate: str
    #: How many of the first wave's completers came back, in words ("" when not shown);
    #: None for the first wave.
    retained: str | None
    #: Their share of the first wave's completers, when the count is exact.
    retained_rate: str = ""


def overview_lines(overview, threshold: int) -> list[WaveLine]:
    """``dashboard.programme_overview`` with every small count in words.

    A wave's counts and rate are shown from ``threshold`` completions; the
    retention counts follow ``retention_words``.
    """
    lines = []
    for row in overview.rows:
        counts, shown = row.counts, row.counts.completed >= threshold
        retained, retained_rate = None, ""
        if row.retained is not None:
            retained = retention_words(row.retained, overview.base, threshold)
            if retained == str(row.retained):
                retained_rate = f"{math.floor(row.retained * 100 / overview.base + 0.5)}%"
        lines.append(
            WaveLine(
                wave=row.wave,
                invited=counts.invited,
                started=str(counts.started) if shown else "",
                completed=str(counts.completed) if shown else fewer_than(threshold),
                rate=f"{counts.rate}%" if shown else "",
                retained=retained,
                retained_rate=retained_rate,
            )
        )
    return lines
