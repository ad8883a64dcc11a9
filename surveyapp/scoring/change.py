"""Change over time for the same people: scale scores of two waves, paired by ID number.

Flask-free; pandas pairs, scipy gives the t distribution. For each scale the
two waves share (by scale id), the people with a score in both waves are
paired; their mean change (second minus first) comes with a 95% confidence
interval and a paired t-test (two-sided). ``n_dropped`` counts the people who
had a score in the first wave but none in the second (they did not answer it,
or not enough of the scale's items).

Anonymous waves keep no person, so they cannot be paired: asking raises
``CannotPair`` with a sentence to show.

Breakdowns (by team, role or region) use each person's group as recorded at
the first wave, and follow the reporting threshold on the number of pairs. For
the evaluator, a group is shown only when the programme's disclosure decision
(``disclosure``) releases it whole in both waves: a team pooled with small
groups in either wave is hidden, as the results pages of that wave hide it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy.orm import Session

from surveyapp.errors import SurveyError
from surveyapp.models import Wave
from surveyapp.questionnaires import Questionnaire
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.questionnaires.comparability import incomparable
from surveyapp.scoring.disclosure import Release, programme_releases
from surveyapp.scoring.scales import load_answers, scale_info, scores_table
from surveyapp.scoring.summary import (
    ALL_RESPONDENTS,
    check_breakdown,
    group_labels,
    mark_hidden,
    pooled_groups,
    total_first,
)
from surveyapp.scoring.suppression import DEFAULT_THRESHOLD, check_threshold

CHANGE_COLUMNS = [
    "scale",
    "label",
    "breakdown",
    "group",
    "is_total",
    "n_first",
    "n_second",
    "n_paired",
    "n_dropped",
    "mean_first",
    "mean_second",
    "mean_change",
    "sd_change",
    "ci_low",
    "ci_high",
    "t",
    "df",
    "p",
    "hidden",
    "note",
]


class CannotPair(SurveyError):
    """Two waves cannot be compared person by person; the message says why."""


def paired_change(
    session: Session,
    first: Wave,
    second: Wave,
    *,
    by: str | None = None,
    for_evaluator: bool = True,
    threshold: int = DEFAULT_THRESHOLD,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compare the scale scores of the same people between two waves of one programme.

    :raises CannotPair: when either wave is anonymous, the waves belong to different
        programmes, they are the same wave, or they share no scale.
    :return: one row per shared scale and group, columns ``CHANGE_COLUMNS``.
    """
    if first.id == second.id:
        raise CannotPair("Choose two different waves to measure change.")
    if first.programme_id != second.programme_id:
        raise CannotPair("The two waves belong to different programmes, so no one is in both.")
    for wave in (first, second):
        if wave.is_anonymous:
            raise CannotPair(
                f"The wave “{wave.label}” is anonymous: its answers keep no ID number, so "
                "they cannot be paired with the same person's answers in another wave. "
                "Compare the two waves' results side by side instead."
            )
    first_q = questionnaire_of(first.questionnaire_version)
    second_q = questionnaire_of(second.questionnaire_version)
    releases = programme_releases(session, first.programme, threshold) if for_evaluator else {}
    return compare_scores(
        scores_table(load_answers(session, first), first_q),
        scores_table(load_answers(session, second), second_q),
        first_q,
        second_q,
        by=by,
        for_evaluator=for_evaluator,
        threshold=threshold,
        confidence=confidence,
        release=releases.get(first.id),
        second_release=releases.get(second.id),
    )


def compare_scores(
    first: pd.DataFrame,
    second: pd.DataFrame,
    first_questionnaire: Questionnaire,
    second_questionnaire: Questionnaire,
    *,
    by: str | None = None,
    for_evaluator: bool = True,
    threshold: int = DEFAULT_THRESHOLD,
    confidence: float = 0.95,
    release: Release | None = None,
    second_release: Release | None = None,
) -> pd.DataFrame:
    """Pair two waves' ``scores_table`` rows by ``id_number`` and test the change per scale.

    People are grouped as in the first wave; ``release`` and ``second_release`` are
    the two waves' (``disclosure``), so a group either wave's pages may not show is
    hidden here too. A scale the second questionnaire's version measures differently
    (``comparability.incomparable``) is hidden with the reason in ``note``.

    :raises CannotPair: when a table has no ID numbers or the questionnaires share no scale.
    """
    check_breakdown(by)
    check_threshold(threshold)
    for table in (first, second):
        if len(table) and table["id_number"].isna().all():
            raise CannotPair("Answers without ID numbers cannot be paired.")
    second_ids = {info.id for info in scale_info(second_questionnaire)}
    shared = [
        info
        for info in scale_info(first_questionnaire)
        if info.id in second_ids and info.id in first.columns and info.id in second.columns
    ]
    if not shared:
        raise CannotPair("The two questionnaires have no scale in common.")
    not_comparable = incomparable(first_questionnaire, second_questionnaire)
    pooled = pooled_groups(
        first, by, for_evaluator=for_evaluator, threshold=threshold, release=release
    )
    if second_release is not None and for_evaluator and by is not None:
        pooled |= second_release.pooled_groups(by)
    before = first.dropna(subset=["id_number"]).set_index("id_number")
    after = second.dropna(subset=["id_number"]).set_index("id_number")
    tables = []
    for info in shared:
        pairs = pd.DataFrame({"first": before[info.id].astype(float)}).join(
            after[info.id].astype(float).rename("second"), how="outer"
        )
        group_of = before[by] if by is not None else None
        table = _change_table(pairs, group_of, confidence)
        table = mark_hidden(
            table,
            table["n_paired"],
            for_evaluator=for_evaluator,
            threshold=threshold,
            pooled=pooled,
        )
        table = total_first(table)
        numbers = list(CHANGE_COLUMNS[5:18])
        table = table.astype({column: object for column in numbers})
        if info.id in not_comparable:
            # A changed scale measures something else in the second wave: never pair it.
            table["hidden"] = True
            table["note"] = (
                "Not comparable between these waves: the questionnaire's new version "
                f"changes it ({not_comparable[info.id]})"
            )
        table.loc[table["hidden"].to_numpy(), numbers] = None
        table.insert(0, "scale", info.id)
        table.insert(1, "label", info.label)
        table.insert(2, "breakdown", by)
        table.insert(3, "group", table.index)
        table.insert(4, "is_total", table.index == ALL_RESPONDENTS)
        tables.append(table.reset_index(drop=True))
    return pd.concat(tables, ignore_index=True)[CHANGE_COLUMNS]


def _change_table(
    pairs: pd.DataFrame, group_of: pd.Series | None, confidence: float
) -> pd.DataFrame:
    has_first = pairs["first"].notna()
    has_second = pairs["second"].notna()
    paired = has_first & has_second
    difference = (pairs["second"] - pairs["first"]).where(paired)
    frame = pd.DataFrame(
        {
            "has_first": has_first,
            "has_second": has_second,
            "paired": paired,
            "dropped": has_first & ~has_second,
            "first": pairs["first"].where(paired),
            "second": pairs["second"].where(paired),
            "difference": difference,
        }
    )
    labels = [pd.Series(ALL_RESPONDENTS, index=frame.index, dtype=object)]
    if group_of is not None:
        # People first seen in the second wave have no first-wave group: they are never paired.
        labels.append(group_labels(group_of.reindex(frame.index)))
    parts = []
    for groups in labels:
        grouped = frame.groupby(groups)
        parts.append(
            pd.DataFrame(
                {
                    "n_first": grouped["has_first"].sum(),
                    "n_second": grouped["has_second"].sum(),
                    "n_paired": grouped["paired"].sum(),
                    "n_dropped": grouped["dropped"].sum(),
                    "mean_first": grouped["first"].mean(),
                    "mean_second": grouped["second"].mean(),
                    "mean_change": grouped["difference"].mean(),
                    "sd_change": grouped["difference"].std(ddof=1),
                }
            )
        )
    table = pd.concat(parts)
    table = table[~table.index.duplicated()]
    if group_of is not None:
        # Groups of people who had only a second-wave score carry no pair and no first wave.
        table = table[(table.index == ALL_RESPONDENTS) | (table["n_first"] > 0)]
    counts = ["n_first", "n_second", "n_paired", "n_dropped"]
    table[counts] = table[counts].astype(int)
    return _add_test(table, confidence)


def _add_test(table: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Add the paired t-test and the confidence interval of the mean change."""
    n = table["n_paired"].to_numpy(dtype=float)
    mean = table["mean_change"].to_numpy(dtype=float)
    sd = table["sd_change"].to_numpy(dtype=float)
    df = n - 1
    usable = (n >= 2) & np.isfinite(sd)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(usable, sd / np.sqrt(np.where(usable, n, 1)), np.nan)
        spread = se > 0
        t = np.where(spread, mean / np.where(spread, se, 1), np.nan)
    critical = stats.t.ppf(0.5 + confidence / 2, np.where(usable, df, 1))
    p = np.where(spread, 2 * stats.t.sf(np.abs(np.nan_to_num(t)), np.where(usable, df, 1)), np.nan)
    # Everyone changed by the same amount: the interval is that amount; no test is possible.
    half = np.where(usable, critical * np.where(usable, se, 0), np.nan)
    table["ci_low"] = mean - half
    table["ci_high"] = mean + half
    table["t"] = t
    table["df"] = np.where(usable, df, np.nan)
    table["p"] = p
    return table
