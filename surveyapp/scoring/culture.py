"""The culture profile: where each team stands between the two statements of every bipolar item.

Flask-free; pandas does the arithmetic. Built for the 32 items of the
leadership culture survey, but works for the bipolar items of any
questionnaire.

For each item and group: ``mean`` is the mean position (1 = the left statement,
``points`` = the right one), ``sd`` its spread and ``n`` how many answered.
``lean`` says how far the group leans towards the item's positive statement:
+1 when everyone chose the positive end, 0 at the middle, -1 at the negative
end, whichever side the positive statement is on. ``lean_vs_all`` is the
group's lean minus everyone's, to compare a team with the whole organisation.
"""

from __future__ import annotations

import pandas as pd

from surveyapp.questionnaires import Questionnaire
from surveyapp.scoring.disclosure import Release
from surveyapp.scoring.scales import item_scores, response_frame
from surveyapp.scoring.summary import (
    ALL_RESPONDENTS,
    check_breakdown,
    groups_of,
    mark_hidden,
    pooled_groups,
    total_first,
)
from surveyapp.scoring.suppression import DEFAULT_THRESHOLD, check_threshold, points_of

PROFILE_COLUMNS = [
    "breakdown",
    "group",
    "is_total",
    "item",
    "number",
    "left",
    "right",
    "positive",
    "points",
    "n",
    "mean",
    "sd",
    "lean",
    "lean_vs_all",
    "hidden",
    "note",
]


def culture_profile(
    answers: pd.DataFrame,
    questionnaire: Questionnaire,
    *,
    by: str | None = "team",
    for_evaluator: bool = True,
    threshold: int = DEFAULT_THRESHOLD,
    release: Release | None = None,
) -> pd.DataFrame:
    """Profile every bipolar item, for everyone and for each group (teams by default).

    :return: one row per group and item, the total first, items in questionnaire
        order; columns ``PROFILE_COLUMNS``. A group too small to show has its
        numbers blanked, ``hidden`` set and the reason in ``note``. An item on
        which everyone in a group chose the same point is hidden for that group
        (the unanimity rule of ``suppression``).
    """
    check_breakdown(by)
    check_threshold(threshold)
    bipolar = [item for item in questionnaire.items() if item.type == "bipolar"]
    if not bipolar:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    ids = [item.id for item in bipolar]
    scored = item_scores(answers[answers["answer_id"].isin(ids)], questionnaire)
    scored = scored.dropna(subset=["score"])
    people = response_frame(answers)
    positions = scored.pivot(index="response_id", columns="answer_id", values="score")
    positions = positions.reindex(index=people.index, columns=ids)
    overall = pd.Series(ALL_RESPONDENTS, index=people.index, dtype=object)
    groupings = [overall] + ([groups_of(people.index, people, by)] if by is not None else [])
    parts = []
    for groups in groupings:
        grouped = positions.groupby(groups)
        parts.append(
            pd.concat(
                {"n": grouped.count(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)},
                axis=1,
            )
        )
    # Rows: groups; columns: (statistic, item). Long form: one row per group and item.
    wide = pd.concat(parts)
    wide = wide[~wide.index.duplicated()]
    if ALL_RESPONDENTS not in wide.index:
        # No response yet: the total still has its rows, with nobody in them.
        wide = wide.reindex([ALL_RESPONDENTS, *wide.index])
        wide["n"] = wide["n"].fillna(0)
    long = wide.stack(level=1, future_stack=True).reset_index()
    long.columns = ["group", "item", "n", "mean", "sd"]
    meta = pd.DataFrame(
        {
            "item": ids,
            "number": range(1, len(ids) + 1),
            "left": [item.left for item in bipolar],
            "right": [item.right for item in bipolar],
            "positive": [item.positive for item in bipolar],
            "points": [item.points for item in bipolar],
        }
    )
    long = long.merge(meta, on="item")
    middle = (long["points"] + 1) / 2
    towards_left = (middle - long["mean"]) / (middle - 1)
    long["lean"] = towards_left.where(long["positive"] == "left", -towards_left)
    everyone = long.loc[long["group"] == ALL_RESPONDENTS].set_index("item")["lean"]
    long["lean_vs_all"] = long["lean"] - long["item"].map(everyone)
    long["n"] = long["n"].astype(int)
    pooled = pooled_groups(
        people, by, for_evaluator=for_evaluator, threshold=threshold, release=release
    )
    tables = []
    for item, table in long.groupby("item", sort=False):
        table = table.set_index("group")
        points = pd.concat([points_of(positions[item], groups) for groups in groupings])
        table = mark_hidden(
            table,
            table["n"],
            for_evaluator=for_evaluator,
            threshold=threshold,
            pooled=pooled,
            points=points[~points.index.duplicated()],
        )
        tables.append(table.reset_index())
    profile = pd.concat(tables, ignore_index=True)
    profile = _hide_numbers(profile)
    order = {group: place for place, group in enumerate(total_first(wide).index)}
    profile["order"] = profile["group"].map(order)
    profile = profile.sort_values(["order", "number"]).drop(columns="order")
    profile["breakdown"] = by
    profile["is_total"] = profile["group"] == ALL_RESPONDENTS
    return profile[PROFILE_COLUMNS].reset_index(drop=True)


def _hide_numbers(profile: pd.DataFrame) -> pd.DataFrame:
    columns = ["n", "mean", "sd", "lean", "lean_vs_all"]
    profile = profile.astype({column: object for column in columns})
    profile.loc[profile["hidden"].to_numpy(), columns] = None
    return profile


def leaning_items(profile: pd.DataFrame, group: str, *, count: int = 5) -> dict[str, pd.DataFrame]:
    """List the items where a group leans most to each side.

    :return: ``{"positive": ..., "negative": ...}``: the group's rows of the profile,
        ``count`` of each, sorted by how far the group leans to that side (an
        item leaning the other way is not listed). Empty when the group is hidden.
    """
    rows = profile[(profile["group"] == group) & ~profile["hidden"]].copy()
    rows["lean"] = rows["lean"].astype(float)
    positive = rows[rows["lean"] > 0].sort_values(["lean", "number"], ascending=[False, True])
    negative = rows[rows["lean"] < 0].sort_values(["lean", "number"], ascending=[True, True])
    return {
        "positive": positive.head(count).reset_index(drop=True),
        "negative": negative.head(count).reset_index(drop=True),
    }
