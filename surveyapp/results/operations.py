"""The evaluator's results pages: scale tables and the culture chart, laid out for templates.

Flask-free and pandas-free: takes the records of ``scoring`` tables
(``DataFrame.to_dict("records")``) and returns plain rows and chart coordinates.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field

from surveyapp.scoring.suppression import NO_RESPONSES

#: What a table cell shows for a number that does not exist (an sd of one answer).
NO_NUMBER = "–"


def number(value: object, places: int = 2) -> str:
    """Format a statistic, or a dash for None and NaN."""
    if value is None:
        return NO_NUMBER
    value = float(value)
    if math.isnan(value):
        return NO_NUMBER
    return f"{value:.{places}f}"


@dataclass(frozen=True)
class SummaryRow:
    group: str
    is_total: bool
    hidden: bool
    note: str
    n: str
    mean: str
    sd: str
    median: str


@dataclass
class ScaleTable:
    id: str
    label: str
    rows: list[SummaryRow] = field(default_factory=list)


def scale_tables(records: list[dict]) -> list[ScaleTable]:
    """Group ``summarise_scales`` records by scale, in order, with the numbers formatted."""
    tables: dict[str, ScaleTable] = {}
    for record in records:
        table = tables.setdefault(record["scale"], ScaleTable(record["scale"], record["label"]))
        hidden = bool(record["hidden"])
        table.rows.append(
            SummaryRow(
                group=str(record["group"]),
                is_total=bool(record["is_total"]),
                hidden=hidden,
                note=record["note"] or "",
                n="" if hidden else str(int(record["n"])),
                mean=number(record["mean"]),
                sd=number(record["sd"]),
                median=number(record["median"]),
            )
        )
    return list(tables.values())


# -- the culture chart -------------------------------------------------------------------


@dataclass(frozen=True)
class CultureRow:
    """One item of the culture profile: its statements and where the group stands."""

    number: int
    item: str
    left: str
    right: str
    positive: str
    points: int
    n: str
    mean: str
    all_mean: str
    #: How far the group leans towards the positive statement, -1 to +1, formatted.
    lean: str
    #: Chart coordinates.
    y: float
    height: float
    left_lines: list[str]
    right_lines: list[str]
    bar_x: float
    bar_width: float
    #: "positive" or "negative": which statement the bar points towards.
    towards: str
    marker_x: float | None
    title: str


@dataclass(frozen=True)
class CultureChart:
    width: int
    height: int
    middle_x: float
    bar_left: float
    bar_right: float
    top: float
    line_height: int
    rows: list[CultureRow]
    summary: str
    group: str


WIDTH = 960
TEXT_WIDTH = 300
GAP = 16
LINE_HEIGHT = 16
CHARS_PER_LINE = 42
TOP = 36
BAR_HEIGHT = 14


def _wrap(text: str) -> list[str]:
    """Break a statement into lines, never inside a word ("on-going" stays whole)."""
    return textwrap.wrap(text, CHARS_PER_LINE, break_on_hyphens=False) or [""]


def _position(mean: float, points: int, middle_x: float, half: float) -> float:
    middle = (points + 1) / 2
    return round(middle_x + (mean - middle) / (middle - 1) * half, 1)


def culture_chart(records: list[dict], group: str, everyone: list[dict]) -> CultureChart:
    """Lay out a group's profile as a diverging chart, one row per item in questionnaire order.

    :param records: the group's rows of ``culture_profile`` (shown, not hidden).
    :param everyone: the whole organisation's rows, drawn as markers to compare with.
    """
    all_means = {row["item"]: row["mean"] for row in everyone}
    bar_left, bar_right = TEXT_WIDTH + GAP, WIDTH - TEXT_WIDTH - GAP
    middle_x = (bar_left + bar_right) / 2
    half = (bar_right - bar_left) / 2
    compare = group != everyone[0]["group"] if everyone else False
    rows = []
    y = TOP
    for record in sorted(records, key=lambda r: r["number"]):
        # The item's number leads its left statement.
        left_lines = _wrap(f"{record['number']}. {record['left']}")
        right_lines = _wrap(record["right"])
        height = max(len(left_lines), len(right_lines), 2) * LINE_HEIGHT + 12
        mean = record["mean"]
        points = int(record["points"])
        has_mean = mean is not None and not math.isnan(float(mean))
        x = _position(float(mean), points, middle_x, half) if has_mean else middle_x
        all_mean = all_means.get(record["item"])
        marker_x = None
        if compare and all_mean is not None and not math.isnan(float(all_mean)):
            marker_x = _position(float(all_mean), points, middle_x, half)
        side = "left" if x < middle_x else "right"
        towards = "positive" if side == record["positive"] else "negative"
        title = (
            f"{record['number']}. {group}: mean {number(mean)} of 1 (left) to {points} (right)"
            + (f"; whole organisation {number(all_mean)}" if marker_x is not None else "")
        )
        rows.append(
            CultureRow(
                number=int(record["number"]),
                item=record["item"],
                left=record["left"],
                right=record["right"],
                positive=record["positive"],
                points=points,
                n=str(int(record["n"])) if record["n"] is not None else "",
                mean=number(mean),
                all_mean=number(all_mean),
                lean=number(record["lean"]),
                y=y,
                height=height,
                left_lines=left_lines,
                right_lines=right_lines,
                bar_x=min(x, middle_x),
                bar_width=round(abs(x - middle_x), 1),
                towards=towards,
                marker_x=marker_x,
                title=title,
            )
        )
        y += height
    summary = (
        f"Diverging chart of {len(rows)} items for {group}: for each item, a bar from the "
        "middle towards the statement the group leans to, the left statement at the left "
        "end and the right statement at the right end"
        + (", with the whole organisation's mean position marked." if compare else ".")
        + " The same numbers are in the table that follows."
    )
    return CultureChart(
        width=WIDTH,
        height=int(y + 8),
        middle_x=middle_x,
        bar_left=bar_left,
        bar_right=bar_right,
        top=TOP,
        line_height=LINE_HEIGHT,
        rows=rows,
        summary=summary,
        group=group,
    )


# -- change over time --------------------------------------------------------------------


def p_value(value: object) -> str:
    """Format a p value: three places, or "< 0.001" when smaller."""
    if value is None or math.isnan(float(value)):
        return NO_NUMBER
    return "< 0.001" if float(value) < 0.001 else f"{float(value):.3f}"


@dataclass(frozen=True)
class ChangeRow:
    group: str
    is_total: bool
    hidden: bool
    note: str
    n_paired: str
    n_dropped: str
    mean_first: str
    mean_second: str
    mean_change: str
    ci: str
    t: str
    p: str
    verdict: str


@dataclass
class ChangeTable:
    id: str
    label: str
    reading: str = ""
    rows: list[ChangeRow] = field(default_factory=list)


def _count(value: object) -> str:
    return "" if value is None else str(int(value))


def _lower_first(label: str) -> str:
    """ "Confidence" becomes "confidence"; an acronym ("NHS …") keeps its capitals."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


#: The verdict of a change, by whether its 95% interval leaves out zero.
ROSE, FELL, NO_CLEAR_CHANGE = "Rose", "Fell", "No clear change"


def verdict(record: dict) -> str:
    """ "Rose" or "Fell" when the confidence interval leaves out zero, else "No clear change".

    One rule for every scale and group: a change whose interval includes zero is no
    clear change, however large the mean change looks. Without an interval (a single
    pair) there is no telling: "No clear change" too.
    """
    low, high = record.get("ci_low"), record.get("ci_high")
    if record.get("hidden") or number(low) == NO_NUMBER or number(high) == NO_NUMBER:
        return NO_CLEAR_CHANGE if not record.get("hidden") else NO_NUMBER
    if float(low) > 0:
        return ROSE
    if float(high) < 0:
        return FELL
    return NO_CLEAR_CHANGE


def change_reading(record: dict) -> str:
    """One plain-English sentence about a scale's change for everyone who answered both."""
    label = _lower_first(str(record["label"]))
    if record["hidden"] and record["note"] == NO_RESPONSES:
        return f"Nobody has a {label} score in both waves yet."
    if record["hidden"]:
        return f"The change in {label} is {record['note']}."
    paired = int(record["n_paired"] or 0)
    if paired == 0:
        return f"Nobody has a {label} score in both waves yet."
    change = float(record["mean_change"])
    people = "the 1 person who answered" if paired == 1 else f"the {paired} people who answered"
    size = f"{number(abs(change), 1)} points"
    if number(record["ci_low"]) == NO_NUMBER:
        moved = "stayed the same" if size == "0.0 points" else f"changed by {number(change, 1)}"
        return (
            f"For {people} both, {label} {moved}: one pair is too few to tell whether "
            "there is a clear change."
        )
    interval = f"95% CI {number(record['ci_low'], 1)} to {number(record['ci_high'], 1)}"
    found = verdict(record)
    if found == NO_CLEAR_CHANGE:
        return (
            f"No clear change in {label} for {people} both: the mean change was "
            f"{number(change, 1)} points, but its {interval} includes zero."
        )
    how = "rose" if found == ROSE else "fell"
    return f"On average {label} {how} by {size} ({interval}) for {people} both."


#: What a count of people who dropped out says when another, smaller one could be worked out.
DROPPED_NOT_SHOWN = "Not shown"


def dropped_words(records: list[dict], threshold: int | None) -> list[str]:
    """The "dropped out" cell of each of one scale's records (total first), in words.

    With a threshold (suppressed pages), a count of 1 to ``threshold - 1`` says
    "Fewer than N". The total is shown beside the groups, so while the counts not
    given exactly (with those of hidden rows) add up to 1 to ``threshold - 1``, the
    smallest count given exactly is not shown either (ties by group), the rule the
    results tables follow for whole groups. Without a threshold (full data), every
    count is exact.
    """
    words = [_count(record["n_dropped"]) for record in records]
    if threshold is None:
        return words
    exact = {}
    for index, record in enumerate(records):
        count = record["n_dropped"]
        if count is None or record["hidden"]:
            continue
        if 0 < int(count) < threshold:
            words[index] = f"Fewer than {threshold}"
        elif not record["is_total"]:
            exact[index] = int(count)
    total = next((r for r in records if r["is_total"] and not r["hidden"]), None)
    if total is None or total["n_dropped"] is None or 0 < int(total["n_dropped"]) < threshold:
        return words
    unknown = int(total["n_dropped"]) - sum(exact.values())
    for index in sorted(exact, key=lambda i: (exact[i], str(records[i]["group"]))):
        if not 0 < unknown < threshold:
            break
        if exact[index]:
            words[index] = DROPPED_NOT_SHOWN
            unknown += exact[index]
    return words


def change_tables(records: list[dict], threshold: int | None = None) -> list[ChangeTable]:
    """Group ``paired_change`` records by scale, in order, with the numbers formatted.

    :param threshold: the reporting threshold of a suppressed page, which the
        "dropped out" counts follow (``dropped_words``); None for full data.
    """
    by_scale: dict[str, list[dict]] = {}
    for record in records:
        by_scale.setdefault(record["scale"], []).append(record)
    tables = []
    for scale, scale_records in by_scale.items():
        table = ChangeTable(scale, scale_records[0]["label"])
        dropped = dropped_words(scale_records, threshold)
        for record, n_dropped in zip(scale_records, dropped, strict=True):
            if record["is_total"]:
                table.reading = change_reading(record)
            table.rows.append(_change_row(record, n_dropped))
        tables.append(table)
    return tables


def _change_row(record: dict, n_dropped: str) -> ChangeRow:
    hidden = bool(record["hidden"])
    has_ci = not hidden and number(record["ci_low"]) != NO_NUMBER
    df = "" if hidden or number(record["df"]) == NO_NUMBER else f" ({int(record['df'])})"
    return ChangeRow(
        group=str(record["group"]),
        is_total=bool(record["is_total"]),
        hidden=hidden,
        note=record["note"] or "",
        n_paired=_count(record["n_paired"]),
        n_dropped=n_dropped,
        mean_first=number(record["mean_first"]),
        mean_second=number(record["mean_second"]),
        mean_change=number(record["mean_change"]),
        ci=(f"{number(record['ci_low'])} to {number(record['ci_high'])}" if has_ci else NO_NUMBER),
        t=(number(record["t"]) + df) if not hidden else NO_NUMBER,
        p=p_value(record["p"]),
        verdict=verdict(record),
    )


# -- item distributions ------------------------------------------------------------------

ITEM_WIDTH = 480
ITEM_LABEL_WIDTH = 190
ITEM_BAR_HEIGHT = 18
ITEM_ROW_HEIGHT = 26
ITEM_LABEL_CHARS = 28


@dataclass(frozen=True)
class ItemBar:
    label: str
    short_label: str
    count: int
    percent: str
    y: float
    width: float


@dataclass(frozen=True)
class ItemChart:
    answer_id: str
    question: str
    n: int
    hidden: bool
    note: str
    bars: list[ItemBar]
    width: int
    height: int
    bar_left: int
    bar_room: int
    summary: str


def _shorten(label: str) -> str:
    if len(label) <= ITEM_LABEL_CHARS:
        return label
    return label[: ITEM_LABEL_CHARS - 1].rstrip() + "…"


def item_chart(answer_id: str, question: str, records: list[dict]) -> ItemChart:
    """Lay out the whole-group rows of ``item_distribution`` as a horizontal bar chart.

    :param records: the rows of one answer id for one group (``All respondents``).
    """
    bar_left = ITEM_LABEL_WIDTH + 10
    bar_room = ITEM_WIDTH - bar_left - 50  # room for the percentage after the bar
    if any(record["hidden"] for record in records):
        note = next(record["note"] for record in records if record["hidden"]) or "hidden"
        return ItemChart(answer_id, question, 0, True, note, [], ITEM_WIDTH, 0, bar_left, 0, "")
    bars = []
    for place, record in enumerate(records):
        percent = record["percent"]
        share = 0.0 if percent is None or math.isnan(float(percent)) else float(percent)
        bars.append(
            ItemBar(
                label=str(record["label"]),
                short_label=_shorten(str(record["label"])),
                count=int(record["count"]),
                percent=f"{number(share, 0)}%",
                y=place * ITEM_ROW_HEIGHT + 4,
                width=round(bar_room * share / 100, 1),
            )
        )
    n = int(records[0]["n"]) if records else 0
    summary = (
        f"Bar chart of the {n} answers to “{question}”: "
        + "; ".join(f"{bar.label} {bar.count} ({bar.percent})" for bar in bars)
        + "."
    )
    return ItemChart(
        answer_id=answer_id,
        question=question,
        n=n,
        hidden=False,
        note="",
        bars=bars,
        width=ITEM_WIDTH,
        height=len(bars) * ITEM_ROW_HEIGHT + 8,
        bar_left=bar_left,
        bar_room=bar_room,
        summary=summary,
    )


# -- distribution of a scale's scores ----------------------------------------------------

#: A scale with more whole points than this is drawn in bands of several points.
MAX_BARS = 12


def _bands(distribution: dict) -> list[tuple[str, int]]:
    """The scale's whole points (or bands of them, when there are many) with their counts."""
    points = sorted((int(point), int(count)) for point, count in distribution.items())
    if len(points) <= MAX_BARS:
        return [(str(point), count) for point, count in points]
    width = math.ceil(len(points) / (MAX_BARS - 2))
    bands = []
    for start in range(0, len(points), width):
        chunk = points[start : start + width]
        low, high = chunk[0][0], chunk[-1][0]
        label = str(low) if low == high else f"{low}–{high}"
        bands.append((label, sum(count for _point, count in chunk)))
    return bands


def scale_chart(record: dict) -> ItemChart:
    """Lay out the distribution of a scale's scores for everyone as a bar chart.

    :param record: the total row (``is_total``) of one scale in ``summarise_scales``:
        ``distribution`` maps each whole point (the score rounded half up) to a count.
        A hidden total is not drawn: the chart says why, as the table does.
    """
    bar_left = ITEM_LABEL_WIDTH + 10
    bar_room = ITEM_WIDTH - bar_left - 50
    label = str(record["label"])
    if record["hidden"]:
        note = record["note"] or "hidden"
        return ItemChart(record["scale"], label, 0, True, note, [], ITEM_WIDTH, 0, bar_left, 0, "")
    n = int(record["n"] or 0)
    bars = []
    for place, (band, count) in enumerate(_bands(record["distribution"] or {})):
        share = 100 * count / n if n else 0.0
        bars.append(
            ItemBar(
                label=band,
                short_label=band,
                count=count,
                percent=f"{number(share, 0)}%",
                y=place * ITEM_ROW_HEIGHT + 4,
                width=round(bar_room * share / 100, 1),
            )
        )
    summary = (
        f"Bar chart of the {n} scores of “{label}”, rounded to whole points: "
        + "; ".join(f"{bar.label}: {bar.count} ({bar.percent})" for bar in bars)
        + "."
    )
    return ItemChart(
        answer_id=str(record["scale"]),
        question=label,
        n=n,
        hidden=False,
        note="",
        bars=bars,
        width=ITEM_WIDTH,
        height=len(bars) * ITEM_ROW_HEIGHT + 8,
        bar_left=bar_left,
        bar_room=bar_room,
        summary=summary,
    )


# -- charts as files ---------------------------------------------------------------------

#: A PNG is drawn at twice the chart's size, sharp enough to print in a report.
PNG_ZOOM = 2


def png_of(svg: str) -> bytes:
    """Draw a chart's SVG (the same drawing the page shows) as a PNG, on a white background.

    Text is drawn with the machine's fonts: Arial if installed, else another sans-serif
    font such as Liberation Sans or DejaVu Sans.
    """
    import resvg_py

    return bytes(resvg_py.svg_to_bytes(svg_string=svg, zoom=PNG_ZOOM, background="#ffffff"))
