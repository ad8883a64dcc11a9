"""Data-quality flags per response: time taken, speeding, straightlining, gaps, partial.

Flask-free; pandas, as ``scoring`` and ``exports``. Flags are read, never stored: they
are worked out from the answers and the time each response keeps, each time they are
asked for, so nothing is ever deleted or changed by a flag. The rules:

- **Time taken**: from the first page shown to the send, summed over visits (a gap of
  more than ``respond.flow.IDLE_LIMIT`` between two steps is a break, not counted).
  Identified waves keep it in seconds; anonymous waves only as a band
  (``quality.bands``). Responses sent before timing was recorded are "not timed".
- **Speeding**: a time under a third of the wave's median time (``SPEED_FRACTION``),
  judged once at least ``MIN_TIMED`` responses of the wave are timed. In an anonymous
  wave, with bands only, the median is the grouped median of the bands (interpolated
  within its band), and a response is speeding only when the *upper* end of its band
  is at most a third of it: only responses surely under a third are flagged.
- **Straightlining**: the same answer to every item of a battery of at least
  ``STRAIGHTLINE_MIN_ITEMS`` items, every one answered with a point of the scale
  ("not applicable" breaks the line). The batteries are: the rows of each matrix; the
  Likert and bipolar items of each page that share one scale; and all the bipolar
  items of the questionnaire that share one scale (the leadership culture survey's 32
  items over four pages). Missing where the questionnaire has no such battery.
- **Items left unanswered**: the share of the items shown to the person (matrix rows
  counted one by one) that have no answer. Typed text (short and long text, "other"
  boxes) is left out: it is almost always optional.
- **Partial response**: fewer than 80% of those items answered (``PARTIAL_SHARE``),
  the line between a complete and a partial interview in AAPOR's Standard Definitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveyapp.quality.bands import TIME_BANDS
from surveyapp.questionnaires import Questionnaire
from surveyapp.questionnaires.model import is_answered

#: A response is speeding when its time is under this share of the wave's median.
SPEED_FRACTION = 1 / 3
#: Speeding is judged once this many of the wave's responses are timed.
MIN_TIMED = 5
#: A battery of at least this many items can be straightlined.
STRAIGHTLINE_MIN_ITEMS = 6
#: A response answering less than this share of the items shown to it is partial.
PARTIAL_SHARE = 0.8
#: Item types whose answers count for the unanswered share (not typed text).
COUNTED_TYPES = frozenset(
    {"single_choice", "multiple_choice", "likert", "bipolar", "number", "matrix"}
)
#: The rules that can exclude a response, by the name a form or a command uses.
RULES = {
    "speeding": "Speeding (under a third of the median time)",
    "straightlining": f"Straightlining (the same answer to a grid of {STRAIGHTLINE_MIN_ITEMS} "
    "or more items)",
    "partial": f"Partial (fewer than {PARTIAL_SHARE:.0%} of the questions answered)",
}
#: The flag columns, in the order exports show them.
FLAG_COLUMNS = (
    "seconds",
    "time_band",
    "speeding",
    "straightlining",
    "unanswered_share",
    "partial",
    "flagged",
)


def batteries(questionnaire: Questionnaire) -> list[tuple[str, tuple[str, ...]]]:
    """The batteries straightlining is judged on: (a name, the answer ids), each of at
    least ``STRAIGHTLINE_MIN_ITEMS`` items (module docstring)."""
    found: list[tuple[str, tuple[str, ...]]] = []
    bipolar: dict[tuple, list[str]] = {}
    for page in questionnaire.pages:
        scaled: dict[tuple, list[str]] = {}
        for item in page.items:
            if item.type == "matrix":
                found.append((item.id, tuple(row.id for row in item.rows)))
            elif item.type in ("likert", "bipolar"):
                scaled.setdefault((item.type, item.point_values()), []).append(item.id)
                if item.type == "bipolar":
                    bipolar.setdefault(item.point_values(), []).append(item.id)
        found.extend((page.id, tuple(ids)) for ids in scaled.values())
    found.extend(("all bipolar items", tuple(ids)) for ids in bipolar.values())
    unique = []
    for name, ids in found:
        if len(ids) >= STRAIGHTLINE_MIN_ITEMS and ids not in (other for _, other in unique):
            unique.append((name, ids))
    return unique


def counted_ids(questionnaire: Questionnaire) -> list[str]:
    """The answer ids that count for the unanswered share (``COUNTED_TYPES``), in order."""
    ids = []
    for item in questionnaire.items():
        if item.type == "matrix":
            ids.extend(row.id for row in item.rows)
        elif item.type in COUNTED_TYPES:
            ids.append(item.id)
    return ids


def counted_answers(answers: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """The counted answers of each response, with whether each is answered.

    A response holds an answer, blank or not, to every item it was shown and to no
    other (``respond.flow.submit`` keeps only the items that applied, and a page counts
    as done only when each shown item has a stored value), so the rows here are the
    questions the person was shown. Columns ``response_id``, ``answer_id``, ``answered``.
    """
    stored = answers[answers["answer_id"].isin(counted_ids(questionnaire))]
    values = stored["value"]
    answered = values.map(is_answered) if len(values) else pd.Series(dtype=bool)
    return pd.DataFrame(
        {
            "response_id": stored["response_id"].to_numpy(),
            "answer_id": stored["answer_id"].to_numpy(),
            "answered": answered.astype(bool).to_numpy(),
        }
    )


def _points(questionnaire: Questionnaire) -> dict[str, tuple]:
    points = {}
    for item in questionnaire.items():
        if item.type == "matrix":
            points.update({row.id: item.point_values() for row in item.rows})
        elif item.type in ("likert", "bipolar"):
            points[item.id] = item.point_values()
    return points


def _straight(answers: pd.DataFrame, ids: tuple[str, ...], points: dict) -> pd.Index:
    """The responses that gave one and the same point to every item of a battery."""
    part = answers[answers["answer_id"].isin(ids)]
    # The items of a battery share one scale: every value must be one of its points.
    part = part[part["value"].isin(list(points[ids[0]]))]
    if part.empty:
        return pd.Index([])
    grouped = part.groupby("response_id", sort=False)["value"].agg(["size", "nunique"])
    whole = grouped[(grouped["size"] == len(ids)) & (grouped["nunique"] == 1)]
    return whole.index


def answer_flags(answers: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """Straightlining, unanswered share and partial per response (index ``response_id``).

    ``answers`` is the long table of ``scoring.load_answers``. Vectorised: a wave of
    100,000 responses is a few group-bys, not a loop over people.
    """
    ids = pd.Index(pd.unique(answers["response_id"]), name="response_id")
    counted = counted_answers(answers, questionnaire)
    by_response = counted.groupby("response_id", sort=False)["answered"]
    shown = by_response.size().reindex(ids, fill_value=0)
    missing = (shown - by_response.sum().reindex(ids, fill_value=0)).astype(float)
    share = (missing / shown.where(shown > 0)).fillna(0.0)
    frame = pd.DataFrame(index=ids)
    found = batteries(questionnaire)
    if found:
        points = _points(questionnaire)
        # One pass over the answers for every battery's items; then each battery's own.
        every = {answer_id for _name, battery in found for answer_id in battery}
        part = answers.loc[answers["answer_id"].isin(every), ["response_id", "answer_id", "value"]]
        straight = pd.Series(0, index=ids, dtype="Int64")
        for _name, battery in found:
            straight[straight.index.isin(_straight(part, battery, points))] = 1
        frame["straightlining"] = straight
    else:
        frame["straightlining"] = pd.Series(pd.NA, index=ids, dtype="Int64")
    frame["unanswered_share"] = share.astype(float)
    frame["partial"] = ((1 - share) < PARTIAL_SHARE).astype(int).astype("Int64")
    return frame


def grouped_median(bands: pd.Series) -> float | None:
    """The median time, in seconds, of times known only as bands (interpolated in its band)."""
    counts = bands.dropna().astype(int).value_counts().sort_index()
    total = counts.sum()
    if not total:
        return None
    below = 0
    for code, count in counts.items():
        lower, upper = TIME_BANDS[code]
        if below + count >= total / 2:
            if upper is None:
                return float(lower)
            return lower + (total / 2 - below) / count * (upper - lower)
        below += count
    return None  # pragma: no cover - the loop always reaches half


def median_time(times: pd.DataFrame, *, anonymous: bool) -> float | None:
    """The wave's median time in seconds, or None with fewer than ``MIN_TIMED`` timed."""
    if anonymous:
        bands = times["time_band"].dropna()
        return grouped_median(bands) if len(bands) >= MIN_TIMED else None
    seconds = times["seconds"].dropna()
    return float(seconds.median()) if len(seconds) >= MIN_TIMED else None


def speeding(times: pd.DataFrame, *, anonymous: bool) -> pd.Series:
    """1 for a response under a third of the median time, 0 otherwise; missing when not
    timed or when too few of the wave are timed to judge."""
    median = median_time(times, anonymous=anonymous)
    result = pd.Series(pd.NA, index=times.index, dtype="Int64")
    if median is None:
        return result
    limit = median * SPEED_FRACTION
    if anonymous:
        upper = times["time_band"].map(
            lambda code: np.nan if pd.isna(code) else TIME_BANDS[int(code)][1] or np.inf
        )
        known = upper.notna()
        result[known] = (upper[known] <= limit).astype(int)
    else:
        seconds = times["seconds"]
        known = seconds.notna()
        result[known] = (seconds[known].astype(float) < limit).astype(int)
    return result


def flags_table(
    answers: pd.DataFrame,
    questionnaire: Questionnaire,
    times: pd.DataFrame,
    *,
    anonymous: bool,
) -> pd.DataFrame:
    """Every flag per response (``FLAG_COLUMNS``), indexed by ``response_id``.

    ``times`` is indexed by response id with ``seconds`` and ``time_band`` (missing when
    not timed). An anonymous wave's ``seconds`` stay missing: it keeps only the band.
    """
    flags = answer_flags(answers, questionnaire)
    times = times.reindex(flags.index)
    table = pd.DataFrame(index=flags.index)
    seconds = times["seconds"] if not anonymous else pd.Series(pd.NA, index=flags.index)
    table["seconds"] = seconds.astype("Int64")
    table["time_band"] = times["time_band"].astype("Int64")
    table["speeding"] = speeding(
        pd.DataFrame({"seconds": table["seconds"], "time_band": table["time_band"]}),
        anonymous=anonymous,
    )
    table = table.join(flags)
    table["flagged"] = (
        table[list(RULES)].fillna(0).astype(int).max(axis=1).astype("Int64")
        if len(table)
        else pd.Series(dtype="Int64")
    )
    return table[list(FLAG_COLUMNS)]


def excluded(flags: pd.DataFrame, rules: tuple[str, ...]) -> pd.Index:
    """The responses any of ``rules`` flags (missing flags exclude nothing)."""
    if not rules or flags.empty:
        return pd.Index([], dtype=object)
    hit = flags[list(rules)].fillna(0).astype(int).max(axis=1) > 0
    return flags.index[hit.to_numpy()]
