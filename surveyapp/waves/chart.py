"""The line chart of completions over time on the dashboard, laid out for an SVG template.

Flask-free. It draws the days as ``small_counts.shown_days`` shows them: the
line passes only through the days whose running total is shown.

Labels never run into one another: each reminder's label is drawn turned up the
right of its line, from the top of the chart down, and the target's label goes
where no reminder label is (``Box``), above the target line if it can, else below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from surveyapp.waves.small_counts import ShownDay


def short_date(day: date) -> str:
    return f"{day.day} {day:%b}"


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


#: How wide a character of a label is drawn, at most, per pixel of font size (the
#: stylesheet: reminder labels 11px, the target's label 12px bold).
CHAR_WIDTH = 0.62
MARKER_FONT, TARGET_FONT = 11, 12
#: Where a reminder's label starts: this far right of its line, at the top of the chart.
MARKER_LABEL_OFFSET = 14
#: Room kept clear around a label.
PADDING = 2


@dataclass(frozen=True)
class Box:
    """The room a label takes on the chart, in SVG pixels."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        return not (
            self.right + PADDING <= other.left
            or other.right + PADDING <= self.left
            or self.bottom + PADDING <= other.top
            or other.bottom + PADDING <= self.top
        )


def text_width(text: str, font_size: int) -> float:
    return len(text) * font_size * CHAR_WIDTH


@dataclass(frozen=True)
class Marker:
    x: float
    label: str
    title: str
    top: float = 0

    @property
    def label_x(self) -> float:
        return self.x + MARKER_LABEL_OFFSET

    @property
    def box(self) -> Box:
        """The label turned a quarter left, ending at the top: it reads from the top down."""
        return Box(
            self.label_x - MARKER_FONT * 0.8,
            self.top,
            self.label_x + MARKER_FONT * 0.25,
            self.top + text_width(self.label, MARKER_FONT),
        )


@dataclass(frozen=True)
class TargetLabel:
    """Where "Target N" is written: ``x`` and ``y`` (the baseline) with its anchor."""

    text: str
    x: float
    y: float
    anchor: str
    box: Box


@dataclass(frozen=True)
class Chart:
    """Coordinates of a line chart of cumulative completions, drawn as SVG by a template."""

    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    #: "x,y x,y …" for the polyline.
    points: str
    #: Whether there are two points or more to join.
    has_line: bool
    dots: list[tuple[float, float, str]]
    target_y: float
    target: int
    target_label: TargetLabel
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    markers: list[Marker]
    summary: str


def _nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ (and 2.5 × 10ⁿ from 25 up) that is at least ``value``."""
    value = max(value, 1)
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * magnitude
        if candidate >= value and candidate == int(candidate):
            return int(candidate)
    return int(10 * magnitude)


def completions_chart(
    days: Sequence[ShownDay], *, invited: int, target: int, target_rate: int, width: int = 640
) -> Chart:
    """Lay out the completions so far, the target line and the reminder days."""
    height, left, right, top, bottom = 300, 48, width - 28, 20, 300 - 40
    totals = [d.so_far for d in days if d.so_far is not None]
    y_max = _nice_ceiling(max([target, *totals, 1]) * 1.1)

    def x_of(index: int) -> float:
        if len(days) <= 1:
            return (left + right) / 2
        return round(left + (right - left) * index / (len(days) - 1), 1)

    def y_of(value: int) -> float:
        return round(bottom - (bottom - top) * value / y_max, 1)

    dots = [
        (x_of(i), y_of(d.so_far), f"{long_date(d.day)}: {d.so_far} completed so far")
        for i, d in enumerate(days)
        if d.so_far is not None
    ]
    line = [(x, y) for x, y, _ in dots]
    if days and days[0].so_far is None:
        line.insert(0, (x_of(0), y_of(0)))  # the wave opened with none: the line starts there
    every = max(1, math.ceil(len(days) / 8))
    shown = [i for i in range(len(days)) if i % every == 0]
    if shown and len(days) - 1 - shown[-1] >= every / 2:
        shown.append(len(days) - 1)  # the last day, when it does not crowd the one before
    x_ticks = [Tick(x_of(i), short_date(days[i].day)) for i in shown]
    step = 1 if y_max <= 5 else y_max // 5
    y_ticks = [Tick(y_of(value), str(value)) for value in range(0, y_max + 1, step)]
    markers = [
        Marker(
            x_of(i), ", ".join(d.reminders), f"{long_date(d.day)}: {', '.join(d.reminders)}", top
        )
        for i, d in enumerate(days)
        if d.reminders
    ]
    target_label = place_target_label(
        f"Target {target}", y_of(target), left, right, top, [m.box for m in markers]
    )
    if days:
        summary = (
            f"Line chart of completions so far, per day from {long_date(days[0].day)} to "
            f"{long_date(days[-1].day)}: {totals[-1] if totals else 0} of {invited} invited "
            f"have completed; the target is {target} ({target_rate}%)."
        )
        if len(totals) < len(days):
            summary += " Where days had few completions, the line joins them."
        sent = [f"{short_date(d.day)} ({', '.join(d.reminders)})" for d in days if d.reminders]
        summary += (
            f" Reminders went out on {'; '.join(sent)}." if sent else " No reminders sent yet."
        )
    else:
        summary = "No chart yet: the wave has not opened."
    return Chart(
        width=width,
        height=height,
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        points=" ".join(f"{x},{y}" for x, y in line),
        has_line=len(line) > 1,
        dots=dots,
        target_y=y_of(target),
        target=target,
        target_label=target_label,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        markers=markers,
        summary=summary,
    )


def place_target_label(
    text: str, line_y: float, left: float, right: float, top: float, taken: Sequence[Box]
) -> TargetLabel:
    """Put the target's label beside its line where no reminder's label is.

    Tried in turn: above the line at the left, then at the right, then along the
    line, then the same below it. When everything is taken (reminders every few
    days), it goes at the left above the line, as before.
    """
    width = text_width(text, TARGET_FONT)
    ascent, descent = TARGET_FONT * 0.8, TARGET_FONT * 0.25

    def at(x_start: float, baseline: float) -> Box:
        return Box(x_start, baseline - ascent, x_start + width, baseline + descent)

    above, below = line_y - 6, line_y + 6 + ascent
    starts = [left + 6, right - 6 - width]
    starts += [x for x in range(int(left + 16), int(right - width), 8)]
    for baseline in (above, below):
        if baseline - ascent < 0:
            continue  # above the top of the drawing
        for start in starts:
            box = at(start, baseline)
            if not any(box.overlaps(other) for other in taken):
                return _label(text, start, baseline, box, right, width)
    return _label(text, left + 6, max(above, top), at(left + 6, max(above, top)), right, width)


def _label(text: str, start: float, baseline: float, box: Box, right: float, width: float):
    # Written from its end at the right edge, so a long number never runs off the chart.
    if start + width >= right - 6 - 0.5:
        return TargetLabel(text, round(start + width, 1), round(baseline, 1), "end", box)
    return TargetLabel(text, round(start, 1), round(baseline, 1), "start", box)
