"""The chart of outcomes by attendance: per band, the mean and its 95% interval (Flask-free).

Laid out here in pixels; ``evaluations/_interval_chart.html`` draws it as SVG, the page
shows that SVG and the download is the same drawing, as SVG or as PNG
(``results.operations.png_of``). A hidden band is a line of text, never a mark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from surveyapp.scoring.outcomes import ScaleOutcome

WIDTH = 640
LEFT = 210
RIGHT = 30
TOP = 28
ROW = 30
MEASURES = {"endpoint": "Score at the endpoint", "change": "Change from baseline"}


@dataclass(frozen=True)
class Mark:
    label: str
    y: float
    #: None for a hidden band (its note is written instead).
    x: float | None
    x_low: float | None
    x_high: float | None
    text: str
    is_total: bool


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class IntervalChart:
    title: str
    measure: str
    width: int
    height: int
    left: int
    right: int
    marks: list[Mark]
    ticks: list[Tick]
    #: Where the zero line is drawn (change only), else None.
    zero: float | None
    summary: str


def _number(value: float) -> str:
    return f"{value:.2f}"


def _nice(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def interval_chart(outcome: ScaleOutcome, measure: str) -> IntervalChart:
    """Lay out one scale's means by band, at the endpoint or as change from baseline."""
    change = measure == "change"
    rows = []
    for row in outcome.rows:
        if change:
            values = (row.mean_change, row.change_low, row.change_high, row.n_paired)
            hidden, note = row.change_hidden, row.change_note
        else:
            values = (row.mean, row.ci_low, row.ci_high, row.n)
            hidden, note = row.hidden, row.note
        rows.append((row, values, hidden or values[0] is None, note))
    shown = [v for _row, v, hidden, _note in rows if not hidden]
    if change:
        reach = max(
            [abs(x) for mean, low, high, _n in shown for x in (mean, low, high) if x is not None]
            or [1.0]
        )
        top = _nice(reach)
        low, high = -top, top
    else:
        low, high = float(outcome.low), float(outcome.high)
        if high <= low:
            high = low + 1
    room = WIDTH - LEFT - RIGHT

    def place(value: float) -> float:
        clipped = min(max(value, low), high)
        return round(LEFT + (clipped - low) / (high - low) * room, 1)

    marks = []
    for position, (row, (mean, ci_low, ci_high, n), hidden, note) in enumerate(rows):
        y = TOP + position * ROW + ROW / 2
        if hidden:
            text = note or "not enough answers"
            marks.append(Mark(row.band, y, None, None, None, text, row.is_total))
            continue
        interval = f" ({_number(ci_low)} to {_number(ci_high)})" if ci_low is not None else ""
        marks.append(
            Mark(
                row.band,
                y,
                place(mean),
                place(ci_low) if ci_low is not None else None,
                place(ci_high) if ci_high is not None else None,
                f"{_number(mean)}{interval}, n = {n}",
                row.is_total,
            )
        )
    steps = 4
    ticks = [
        Tick(place(low + (high - low) * i / steps), f"{low + (high - low) * i / steps:g}")
        for i in range(steps + 1)
    ]
    height = TOP + len(rows) * ROW + 34
    words = "; ".join(f"{mark.label}: {mark.text}" for mark in marks)
    return IntervalChart(
        title=f"{outcome.label}: {MEASURES[measure].lower()} by band",
        measure=MEASURES[measure],
        width=WIDTH,
        height=height,
        left=LEFT,
        right=WIDTH - RIGHT,
        marks=marks,
        ticks=ticks,
        zero=place(0.0) if change else None,
        summary=f"{outcome.label}, {MEASURES[measure].lower()}, mean and 95% interval by band. "
        + words,
    )
