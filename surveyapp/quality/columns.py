"""The data-quality flags as export columns: names, labels and value labels.

Flask-free. Every export of a wave (wide and long, CSV, Excel, ``.sav``, ``.dta``, the
pack) carries these columns after the scale scores, named ``dq_…`` and labelled in the
codebook and the ``.sav``; the long layout repeats them on every answer's row. An
anonymous wave has no ``dq_seconds``: it keeps only the band of the time taken.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from surveyapp.exports.codebook import Variable
from surveyapp.quality import rules
from surveyapp.quality.bands import TIME_BANDS, band_label

#: The role of the flag columns among an export's variables.
ROLE = "quality"
NO_YES = {0: "No", 1: "Yes"}


def quality_variables(*, anonymous: bool) -> list[Variable]:
    """The flag columns of a wave's export, in order."""
    minimum = rules.STRAIGHTLINE_MIN_ITEMS
    variables = [
        Variable(
            "dq_seconds",
            "Time taken in seconds, from the first page shown to sending, summed over visits "
            "(missing: not timed)",
            "numeric",
            "scale",
            ROLE,
            "seconds",
            is_integer=True,
        ),
        Variable(
            "dq_time_band",
            "Time taken, in bands (missing: not timed)",
            "numeric",
            "ordinal",
            ROLE,
            "time_band",
            value_labels={code: band_label(code) for code in TIME_BANDS},
            is_integer=True,
        ),
        Variable(
            "dq_speeding",
            "Speeding: time taken under a third of the wave's median time (missing: not timed, "
            f"or fewer than {rules.MIN_TIMED} responses timed)",
            "numeric",
            "nominal",
            ROLE,
            "speeding",
            value_labels=NO_YES,
            is_integer=True,
        ),
        Variable(
            "dq_straightlining",
            f"Straightlining: the same answer to every item of a grid or page of {minimum} or "
            "more items (missing: the questionnaire has none)",
            "numeric",
            "nominal",
            ROLE,
            "straightlining",
            value_labels=NO_YES,
            is_integer=True,
        ),
        Variable(
            "dq_unanswered_share",
            "Share of the questions shown left unanswered, 0 to 1 (typed text not counted)",
            "numeric",
            "scale",
            ROLE,
            "unanswered_share",
        ),
        Variable(
            "dq_partial",
            f"Partial response: fewer than {rules.PARTIAL_SHARE:.0%} of the questions shown "
            "answered",
            "numeric",
            "nominal",
            ROLE,
            "partial",
            value_labels=NO_YES,
            is_integer=True,
        ),
        Variable(
            "dq_flagged",
            "Flagged by any data-quality rule (speeding, straightlining or partial)",
            "numeric",
            "nominal",
            ROLE,
            "flagged",
            value_labels=NO_YES,
            is_integer=True,
        ),
    ]
    if anonymous:
        variables = variables[1:]
    return variables


def with_quality(
    data: pd.DataFrame,
    variables: list[Variable],
    flags: pd.DataFrame,
    *,
    anonymous: bool,
) -> tuple[pd.DataFrame, list[Variable]]:
    """Add the flag columns (``flags`` indexed by response id, like ``data``) at the end."""
    taken = {variable.name.lower() for variable in variables}
    stamp = {"questionnaire": variables[0].questionnaire, "version": variables[0].version,
             "wave": variables[0].wave}  # fmt: skip
    added = []
    data = data.copy()
    for variable in quality_variables(anonymous=anonymous):
        name = variable.name
        while name.lower() in taken:
            name = f"{name}_dq"
        taken.add(name.lower())
        variable = replace(variable, name=name, **stamp)
        column = flags[variable.source].reindex(data.index)
        data[name] = column.astype("Int64") if variable.is_integer else column.astype(float)
        added.append(variable)
    return data, [*variables, *added]
