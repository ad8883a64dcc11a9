"""Scale summaries, item distributions and free text, overall and by group.

Flask-free; pandas does the counting. Every function returns a DataFrame with
one row per group (the total first), and marks a group too small to show as
hidden with the reason in ``note``, its numbers blanked: see
``surveyapp.scoring.suppression`` for the rule. Results for the evaluator role
are suppressed; ``for_evaluator=False`` (the programme team) shows every group.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from surveyapp.questionnaires import Questionnaire
from surveyapp.scoring.disclosure import Release, decide_one, people_frame
from surveyapp.scoring.scales import (
    GROUP_FIELDS,
    TEXT_TYPES,
    ScaleInfo,
    answer_slots,
    response_frame,
    scale_info,
)
from surveyapp.scoring.suppression import (
    ALIKE,
    DEFAULT_THRESHOLD,
    FREE_TEXT_THRESHOLD,
    NONE_YET,
    TOO_FEW,
    check_threshold,
    hidden_groups,
    hidden_note,
    points_of,
)

#: The label of the row that covers every respondent.
ALL_RESPONDENTS = "All respondents"
#: The label of respondents whose group field is empty.
NOT_RECORDED = "Not recorded"
#: The label of answers left blank, in item distributions.
NOT_ANSWERED = "Not answered"
#: Why an identifying item's answers are not on the results pages.
IDENTIFYING_NOTE = (
    "hidden: this question can tell who someone is, so its answers are only in exports, "
    "and only where groups are large enough"
)

SUMMARY_COLUMNS = [
    "scale",
    "label",
    "breakdown",
    "group",
    "is_total",
    "n",
    "mean",
    "sd",
    "median",
    "min",
    "max",
    "distribution",
    "hidden",
    "note",
]


def group_labels(values: pd.Series) -> pd.Series:
    """Name each respondent's group, writing an empty field as "Not recorded"."""
    return values.fillna("").astype(str).replace("", NOT_RECORDED)


def check_breakdown(by: str | None) -> None:
    """Raise ValueError unless ``by`` is None or one of the group fields."""
    if by is not None and by not in GROUP_FIELDS:
        raise ValueError(f"Results can be broken down by {', '.join(GROUP_FIELDS)}, not {by!r}.")


def groups_of(index: pd.Index, people: pd.DataFrame, by: str | None) -> pd.Series:
    """The group of each response in ``index`` (one group, the total, when ``by`` is None)."""
    if by is None:
        return pd.Series(ALL_RESPONDENTS, index=index, dtype=object)
    return group_labels(people[by].reindex(index))


def mark_hidden(
    table: pd.DataFrame,
    counts: pd.Series,
    *,
    for_evaluator: bool,
    threshold: int,
    pooled: Iterable[str] = (),
    points: pd.Series | None = None,
) -> pd.DataFrame:
    """Mark rows of ``table`` (indexed like ``counts``, the total included) as hidden.

    :param pooled: groups not wholly released under their own name (``disclosure``).
    :param points: per group (the total included), the set of points its answers
        fall on, for the unanimity rule; None when there is nothing to be alike on.
    """
    table = table.copy()
    table["hidden"] = False
    table["note"] = ""
    if not for_evaluator:
        return table
    total = counts.get(ALL_RESPONDENTS)
    groups = counts.drop(ALL_RESPONDENTS, errors="ignore")
    all_alike = points is not None and len(points.get(ALL_RESPONDENTS) or ()) == 1
    total_shown = (total is None or total >= threshold) and not all_alike
    reasons = hidden_groups(
        groups, threshold, total_shown=total_shown, pooled=pooled, points=points
    )
    if total is not None and not total_shown:
        # A hidden total hides every group: each is no bigger than the total.
        # An empty wave says so; it is not a small one.
        why = NONE_YET if total == 0 else TOO_FEW if total < threshold else ALIKE
        reasons[:] = why
        reasons[ALL_RESPONDENTS] = why
    reasons = reasons.reindex(table.index, fill_value="")
    table["hidden"] = reasons != ""
    table["note"] = [hidden_note(reason, threshold) for reason in reasons]
    return table


def pooled_groups(
    people: pd.DataFrame,
    by: str | None,
    *,
    for_evaluator: bool,
    threshold: int,
    release: Release | None,
) -> frozenset[str]:
    """The groups of ``by`` a page may not show because some of their responses are pooled.

    ``release`` is the programme's decision for this wave; without it, the wave's
    responses in ``people`` are decided on their own.
    """
    if not for_evaluator or by is None:
        return frozenset()
    if release is None:
        release = decide_one(people_frame(people), threshold)
    return release.pooled_groups(by)


def total_first(table: pd.DataFrame) -> pd.DataFrame:
    """Put the total first, then the groups by name."""
    groups = sorted(label for label in table.index if label != ALL_RESPONDENTS)
    first = [ALL_RESPONDENTS] if ALL_RESPONDENTS in table.index else []
    return table.loc[first + groups]


# -- scales ------------------------------------------------------------------------------


def summarise_scales(
    scores: pd.DataFrame,
    questionnaire: Questionnaire,
    *,
    by: str | None = None,
    for_evaluator: bool = True,
    threshold: int = DEFAULT_THRESHOLD,
    release: Release | None = None,
) -> pd.DataFrame:
    """Summarise every scale: n, mean, sd, median, min, max and the distribution, per group.

    :param scores: ``scores_table(...)``: one row per response with the group fields
        and one column per scale.
    :param by: None for the total only, or one of team, organisation, region, role.
    :return: one row per scale and group (the total first), columns ``SUMMARY_COLUMNS``.
        ``distribution`` maps each whole point (the score rounded half up) to a
        count. Hidden rows keep ``n`` as None and every number blank.
    """
    check_breakdown(by)
    check_threshold(threshold)
    pooled = pooled_groups(
        scores, by, for_evaluator=for_evaluator, threshold=threshold, release=release
    )
    tables = [
        _summarise_scale(
            scores, info, by, for_evaluator=for_evaluator, threshold=threshold, pooled=pooled
        )
        for info in scale_info(questionnaire)
    ]
    if not tables:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(tables, ignore_index=True)[SUMMARY_COLUMNS]


def _summarise_scale(
    scores: pd.DataFrame,
    info: ScaleInfo,
    by: str | None,
    *,
    for_evaluator: bool,
    threshold: int,
    pooled: frozenset[str],
) -> pd.DataFrame:
    values = scores[info.id].astype(float)
    overall = pd.Series(ALL_RESPONDENTS, index=scores.index, dtype=object)
    groupings = [overall]
    if by is not None:
        groupings.append(groups_of(scores.index, scores, by))
    table = pd.concat([_describe(values, groups, info) for groups in groupings])
    rounded = np.floor(values + 0.5)
    points = pd.concat([points_of(rounded, groups) for groups in groupings])
    if ALL_RESPONDENTS not in table.index:
        # No response yet: the total still has a row, with nobody in it.
        empty = {point: 0 for point in _bins(values, info)}
        total = pd.DataFrame({"n": [0], "distribution": [empty]}, index=[ALL_RESPONDENTS])
        table = pd.concat([total, table])
    table = mark_hidden(
        table,
        table["n"],
        for_evaluator=for_evaluator,
        threshold=threshold,
        pooled=pooled,
        points=points[~points.index.duplicated()],
    )
    table = total_first(table)
    table = _blank_hidden(table, ["n", "mean", "sd", "median", "min", "max", "distribution"])
    table.insert(0, "scale", info.id)
    table.insert(1, "label", info.label)
    table.insert(2, "breakdown", by)
    table.insert(3, "group", table.index)
    table.insert(4, "is_total", table.index == ALL_RESPONDENTS)
    return table.reset_index(drop=True)


def _describe(values: pd.Series, groups: pd.Series, info: ScaleInfo) -> pd.DataFrame:
    grouped = values.groupby(groups)
    table = pd.DataFrame(
        {
            "n": grouped.count(),
            "mean": grouped.mean(),
            "sd": grouped.std(ddof=1),
            "median": grouped.median(),
            "min": grouped.min(),
            "max": grouped.max(),
        }
    )
    points = np.floor(values + 0.5)
    bins = _bins(values, info)
    counts = pd.crosstab(groups[points.notna()], points.dropna().astype(int))
    counts = counts.reindex(index=table.index, columns=bins, fill_value=0)
    table["distribution"] = [
        {int(point): int(count) for point, count in row.items()} for _, row in counts.iterrows()
    ]
    return table


def _bins(values: pd.Series, info: ScaleInfo) -> list[int]:
    """The whole points a scale's distribution counts: its range, or the points seen."""
    if info.low is not None and info.high is not None:
        return list(range(int(np.ceil(info.low)), int(np.floor(info.high)) + 1))
    return sorted(int(point) for point in np.floor(values + 0.5).dropna().unique())


def with_total(counts: pd.Series) -> pd.Series:
    """Drop repeated groups and make sure the total has a row (0 when nobody responded)."""
    counts = counts[~counts.index.duplicated()]
    if ALL_RESPONDENTS not in counts.index:
        counts = pd.concat([pd.Series({ALL_RESPONDENTS: 0}), counts])
    return counts


def _blank_hidden(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    table = table.astype({column: object for column in columns})
    hidden = table["hidden"].to_numpy()
    for column in columns:
        table.loc[hidden, column] = None
    return table


# -- items -------------------------------------------------------------------------------

DISTRIBUTION_COLUMNS = [
    "answer_id",
    "breakdown",
    "group",
    "is_total",
    "n",
    "code",
    "label",
    "count",
    "percent",
    "hidden",
    "note",
]


def item_distribution(
    answers: pd.DataFrame,
    questionnaire: Questionnaire,
    answer_id: str,
    *,
    by: str | None = None,
    for_evaluator: bool = True,
    threshold: int = DEFAULT_THRESHOLD,
    release: Release | None = None,
) -> pd.DataFrame:
    """Count the answers to one item (or matrix row) per option, overall and per group.

    ``n`` is how many respondents were asked the item; ``percent`` is of ``n``
    (for multiple choice the percentages add up to more than 100). Every option
    is listed in order, chosen or not (the points, then "other" and "not
    applicable"), and "Not answered" when someone left it blank. Number items
    count each number given. A hidden group has one row, with ``hidden`` set and
    no counts.

    :raises ValueError: for a free-text item (use ``free_text``) or an unknown id.
    """
    check_breakdown(by)
    check_threshold(threshold)
    slots = answer_slots(questionnaire)
    if answer_id not in slots:
        raise ValueError(f"{answer_id!r} is not an answer of {questionnaire.key}.")
    slot = slots[answer_id]
    item = slot.item
    if slot.is_other_text or item.type in TEXT_TYPES:
        raise ValueError(f"{answer_id!r} is free text: use free_text().")
    people = response_frame(answers)
    asked = answers.loc[answers["answer_id"] == answer_id, ["response_id", "value"]]
    asked = asked.set_index("response_id")["value"]
    groups = groups_of(asked.index, people, by)
    overall = pd.Series(ALL_RESPONDENTS, index=asked.index, dtype=object)
    pairs = [(overall, asked)] + ([(groups, asked)] if by is not None else [])
    n = with_total(pd.concat([group.groupby(group).size() for group, _ in pairs]))
    chosen_frames = []
    for group, values in pairs:
        frame = pd.DataFrame({"group": group.to_numpy(), "value": values.to_numpy()})
        if item.type == "multiple_choice":
            frame = frame.explode("value")
        chosen_frames.append(frame)
    chosen = pd.concat(chosen_frames, ignore_index=True)
    if item.type == "number":
        codes = sorted(chosen["value"].dropna().unique().tolist())
    else:
        codes = [option.code for option in item.all_options()]
        codes += [code for code in chosen["value"].dropna().unique().tolist() if code not in codes]
    # Position of each answer's code; -1 for a blank (or an empty multiple choice).
    position = chosen["value"].map({code: place for place, code in enumerate(codes)})
    position = position.fillna(-1).astype(int)
    counts = pd.crosstab(chosen["group"], position)
    columns = list(range(len(codes))) + ([-1] if (position == -1).any() else [])
    counts = counts.reindex(index=n.index, columns=columns, fill_value=0)
    pooled = pooled_groups(
        people, by, for_evaluator=for_evaluator, threshold=threshold, release=release
    )
    said = asked.map(_point)
    points = pd.concat([points_of(said, group) for group, _ in pairs])
    status = mark_hidden(
        pd.DataFrame(index=n.index),
        n,
        for_evaluator=for_evaluator,
        threshold=threshold,
        pooled=pooled,
        points=points[~points.index.duplicated()],
    )
    if for_evaluator and item.identifying:
        status["hidden"] = True
        status["note"] = IDENTIFYING_NOTE
    status = total_first(status)
    rows = []
    for group in status.index:
        base = {
            "answer_id": answer_id,
            "breakdown": by,
            "group": group,
            "is_total": group == ALL_RESPONDENTS,
            "hidden": bool(status.at[group, "hidden"]),
            "note": status.at[group, "note"],
        }
        if base["hidden"]:
            blank = dict.fromkeys(("n", "code", "label", "count", "percent"))
            rows.append(base | blank)
            continue
        size = int(n[group])
        for column in columns:
            count = int(counts.at[group, column])
            code = None if column == -1 else codes[column]
            if code is None:
                label = NOT_ANSWERED
            else:
                label = str(code) if item.type == "number" else item.label_of(code)
            rows.append(
                base
                | {
                    "n": size,
                    "code": code,
                    "label": label,
                    "count": count,
                    "percent": 100.0 * count / size if size else None,
                }
            )
    return pd.DataFrame(rows, columns=DISTRIBUTION_COLUMNS)


def _point(value: object) -> object:
    """What makes two answers alike on an item: the code or the set of codes (None if blank)."""
    if isinstance(value, list):
        return tuple(sorted(map(str, value)))
    return value


# -- free text ---------------------------------------------------------------------------

FREE_TEXT_COLUMNS = [
    "answer_id",
    "breakdown",
    "group",
    "is_total",
    "respondents",
    "texts",
    "hidden",
    "note",
]


def free_text(
    answers: pd.DataFrame,
    questionnaire: Questionnaire,
    answer_id: str,
    *,
    by: str | None = None,
    for_evaluator: bool = True,
    threshold: int = DEFAULT_THRESHOLD,
    release: Release | None = None,
) -> pd.DataFrame:
    """Collect the texts typed for one item (or an "other" box), per group.

    For the evaluator, a text is kept only when its writer's own team,
    organisation, region and role (as recorded, not as pooled) each have at
    least ``FREE_TEXT_THRESHOLD`` (10) respondents in the wave, or the reporting
    threshold when higher: a comment from a small team is never shown, not even
    among everyone's. A group's texts are shown only from that many respondents,
    with the same complementary rule as for numbers. The answers to an
    identifying item are not shown at all. Texts are sorted alphabetically, so
    their order says nothing about who wrote them or when.
    """
    check_breakdown(by)
    check_threshold(threshold)
    slots = answer_slots(questionnaire)
    if answer_id not in slots:
        raise ValueError(f"{answer_id!r} is not an answer of {questionnaire.key}.")
    people = response_frame(answers)
    overall = pd.Series(ALL_RESPONDENTS, index=people.index, dtype=object)
    groups = [overall] + ([groups_of(people.index, people, by)] if by is not None else [])
    respondents = with_total(pd.concat([group.groupby(group).size() for group in groups]))
    typed = answers.loc[answers["answer_id"] == answer_id, ["response_id", "value"]]
    text = typed["value"].astype("string").str.strip()
    typed = typed.assign(value=text.astype(object))[text.fillna("") != ""]
    level = max(FREE_TEXT_THRESHOLD, threshold)
    if for_evaluator:
        typed = typed[typed["response_id"].isin(comment_writers(people, level))]
    texts: dict[str, list[str]] = {}
    for group in groups:
        labelled = typed.assign(group=group.reindex(typed["response_id"]).to_numpy())
        texts.update(labelled.groupby("group")["value"].agg(list).to_dict())
    status = mark_hidden(
        pd.DataFrame(index=respondents.index),
        respondents,
        for_evaluator=for_evaluator,
        threshold=level,
        pooled=pooled_groups(
            people, by, for_evaluator=for_evaluator, threshold=threshold, release=release
        ),
    )
    if for_evaluator and slots[answer_id].item.identifying:
        status["hidden"] = True
        status["note"] = IDENTIFYING_NOTE
    status = total_first(status)
    rows = []
    for group in status.index:
        hidden = bool(status.at[group, "hidden"])
        rows.append(
            {
                "answer_id": answer_id,
                "breakdown": by,
                "group": group,
                "is_total": group == ALL_RESPONDENTS,
                "respondents": None if hidden else int(respondents[group]),
                "texts": None if hidden else sorted(texts.get(group, []), key=str.casefold),
                "hidden": hidden,
                "note": status.at[group, "note"],
            }
        )
    return pd.DataFrame(rows, columns=FREE_TEXT_COLUMNS)


def comment_writers(people: pd.DataFrame, level: int) -> pd.Index:
    """The responses whose own team, organisation, region and role each have ``level`` or more.

    :param people: one row per response of the wave, with the group fields as recorded.
    """
    keep = pd.Series(True, index=people.index)
    for field in GROUP_FIELDS:
        labels = group_labels(people[field])
        keep &= labels.map(labels.value_counts()) >= level
    return people.index[keep.to_numpy()]
