"""Outcomes by attendance: each scale at the endpoint, and its change from baseline, by band.

Flask-free. Each person's attendance (or mentoring) band comes from ``dose``, counted
as of the endpoint wave's close, and is joined to their scale scores by ID number, so
both waves must be identified: an anonymous wave is refused with the reason
(``CannotRead``).

Per band, and for everyone: n, mean and its 95% confidence interval (t distribution)
at the endpoint; then, for people with a score in both waves, the mean change with its
interval. Bands are hidden from evaluators by the same rules as every results page
(``scoring.summary.mark_hidden``: fewer than the programme's threshold, a band that
could be worked out from the total, a band whose scores all fall on one point), and a
band the programme's disclosure decision pools is hidden too (``scoring.disclosure``
treats each person's bands as fields beside their team, so this page and the team
pages cannot be subtracted from each other).

The slope of change on sessions attended is an ordinary least-squares fit by
statsmodels (change = a + b × sessions attended), with the interval of ``b``; it is
given only when at least the threshold of people are paired and their attendance
differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy.orm import Session

from surveyapp.errors import SurveyError
from surveyapp.models import Programme, Wave
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.scoring import dose
from surveyapp.scoring.disclosure import programme_releases
from surveyapp.scoring.scales import load_answers, scale_info, scores_table
from surveyapp.scoring.summary import ALL_RESPONDENTS, mark_hidden
from surveyapp.scoring.suppression import check_threshold, points_of

#: What the bands are of, by the name a page asks for.
BREAKDOWNS = {"attendance": "Attendance band", "mentoring": "Mentoring band"}


class CannotRead(SurveyError):
    """Outcomes by attendance cannot be read for these waves; the message says why."""


@dataclass(frozen=True)
class BandRow:
    band: str
    is_total: bool
    n: int | None
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n_paired: int | None = None
    mean_change: float | None = None
    change_low: float | None = None
    change_high: float | None = None
    hidden: bool = False
    note: str = ""
    change_hidden: bool = False
    change_note: str = ""


@dataclass(frozen=True)
class Slope:
    n: int
    slope: float
    ci_low: float
    ci_high: float
    p: float


@dataclass(frozen=True)
class ScaleOutcome:
    scale: str
    label: str
    #: The lowest and highest score the scale can take, for the chart's axis.
    low: float
    high: float
    rows: list[BandRow]
    has_change: bool
    slope: Slope | None = None
    slope_note: str = ""


@dataclass
class Outcomes:
    endpoint: Wave
    baseline: Wave | None
    by: str
    scales: list[ScaleOutcome] = field(default_factory=list)


def _refuse_anonymous(wave: Wave | None) -> None:
    if wave is not None and wave.is_anonymous:
        raise CannotRead(
            f"The wave “{wave.label}” is anonymous: its answers keep no ID number, so they "
            "cannot be joined to who attended which sessions. Outcomes by attendance need "
            "identified waves."
        )


def outcomes_by_attendance(
    session: Session,
    programme: Programme,
    endpoint: Wave,
    baseline: Wave | None = None,
    *,
    by: str = "attendance",
    for_evaluator: bool = True,
    threshold: int = 5,
    confidence: float = 0.95,
) -> Outcomes:
    """Read each scale of ``endpoint`` (and its change from ``baseline``) by dose band.

    :raises CannotRead: for an anonymous wave, waves of another programme, the same wave
        twice, or a programme without bands of that kind.
    """
    check_threshold(threshold)
    if by not in BREAKDOWNS:
        raise CannotRead("Choose attendance bands or mentoring bands.")
    for wave in (endpoint, baseline):
        _refuse_anonymous(wave)
        if wave is not None and wave.programme_id != programme.id:
            raise CannotRead("The waves must belong to this programme.")
    if baseline is not None and baseline.id == endpoint.id:
        raise CannotRead("Choose a baseline wave other than the endpoint to read change.")
    bands = dose.programme_bands(session, programme)
    chosen = bands.attendance if by == "attendance" else bands.mentoring
    if not chosen:
        raise CannotRead(
            f"The programme has no {BREAKDOWNS[by].lower()}s yet: set them on the programme's "
            "evaluation page first."
        )
    labels = {code: label for code, (_low, _high, label) in enumerate(chosen, 1)}
    doses = dose.dose_table(session, programme, now=endpoint.closes_at)
    band_column = "attendance_band" if by == "attendance" else "mentoring_band"
    end_q = questionnaire_of(endpoint.questionnaire_version)
    end = _scores(session, endpoint, end_q)
    start = None
    start_ids: set[str] = set()
    if baseline is not None:
        start_q = questionnaire_of(baseline.questionnaire_version)
        start = _scores(session, baseline, start_q)
        start_ids = {info.id for info in scale_info(start_q)}
    # A band some of whose people the programme's disclosure decision pools is not shown:
    # beside the team pages it could be narrowed to fewer than the threshold.
    pooled = (
        programme_releases(session, programme, threshold)[endpoint.id].pooled_groups(band_column)
        if for_evaluator
        else frozenset()
    )
    outcome = Outcomes(endpoint, baseline, by)
    order = [labels[code] for code in sorted(labels)]
    band_of = doses[band_column].map(labels)
    for info in scale_info(end_q):
        if info.id not in end.columns:
            continue
        values = end[info.id].astype(float).dropna()
        groups = band_of.reindex(values.index)
        has_change = start is not None and info.id in start_ids and info.id in start.columns
        change = attended = None
        if has_change:
            before = start[info.id].astype(float)
            change = (values - before.reindex(values.index)).dropna()
            attended = doses["sessions_attended"].reindex(change.index).astype(float)
        rows = _rows(values, groups, change, order, for_evaluator, threshold, confidence, pooled)
        slope, note = (None, "")
        if has_change:
            slope, note = _slope(change, attended, for_evaluator, threshold, confidence)
        low = info.low if info.low is not None else float(values.min() if len(values) else 0)
        high = info.high if info.high is not None else float(values.max() if len(values) else 1)
        outcome.scales.append(
            ScaleOutcome(info.id, info.label, low, high, rows, has_change, slope, note)
        )
    return outcome


def _scores(session: Session, wave: Wave, questionnaire) -> pd.DataFrame:
    table = scores_table(load_answers(session, wave), questionnaire)
    return table.dropna(subset=["id_number"]).set_index("id_number")


def _interval(values: pd.Series, confidence: float) -> tuple:
    n = int(values.count())
    if n == 0:
        return 0, None, None, None
    mean = float(values.mean())
    if n < 2:
        return n, mean, None, None
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * float(values.std(ddof=1)) / np.sqrt(n)
    return n, mean, mean - half, mean + half


def _grouped(values: pd.Series, groups: pd.Series, order: list[str]) -> dict[str, pd.Series]:
    parts = {ALL_RESPONDENTS: values}
    for label in order:
        parts[label] = values[groups.reindex(values.index) == label]
    return parts


def _hidden(
    parts: dict[str, pd.Series], for_evaluator: bool, threshold: int, pooled: frozenset[str]
) -> pd.DataFrame:
    counts = pd.Series({label: int(part.count()) for label, part in parts.items()})
    labels = pd.Series(
        [label for label, part in parts.items() for _ in range(len(part))], dtype=object
    )
    joined = pd.concat(list(parts.values())) if parts else pd.Series(dtype=float)
    points = (
        points_of(pd.Series(np.floor(joined.to_numpy() + 0.5)), labels) if len(joined) else None
    )
    return mark_hidden(
        pd.DataFrame(index=counts.index),
        counts,
        for_evaluator=for_evaluator,
        threshold=threshold,
        pooled=pooled,
        points=points,
    )


def _rows(
    values, groups, change, order, for_evaluator, threshold, confidence, pooled
) -> list[BandRow]:
    parts = _grouped(values, groups, order)
    status = _hidden(parts, for_evaluator, threshold, pooled)
    changed = _grouped(change, groups, order) if change is not None else None
    change_status = (
        _hidden(changed, for_evaluator, threshold, pooled) if changed is not None else None
    )
    rows = []
    for label, part in parts.items():
        hidden = bool(status.at[label, "hidden"])
        n, mean, low, high = _interval(part, confidence)
        extra = {}
        if changed is not None:
            c_hidden = bool(change_status.at[label, "hidden"]) or hidden
            c_n, c_mean, c_low, c_high = _interval(changed[label], confidence)
            extra = dict(
                n_paired=None if c_hidden else c_n,
                mean_change=None if c_hidden else c_mean,
                change_low=None if c_hidden else c_low,
                change_high=None if c_hidden else c_high,
                change_hidden=c_hidden,
                change_note=change_status.at[label, "note"] or status.at[label, "note"],
            )
        rows.append(
            BandRow(
                band=label,
                is_total=label == ALL_RESPONDENTS,
                n=None if hidden else n,
                mean=None if hidden else mean,
                ci_low=None if hidden else low,
                ci_high=None if hidden else high,
                hidden=hidden,
                note=status.at[label, "note"],
                **extra,
            )
        )
    return rows


def _slope(change, attended, for_evaluator, threshold, confidence) -> tuple[Slope | None, str]:
    import statsmodels.api as sm

    frame = pd.DataFrame({"change": change, "attended": attended}).dropna()
    n = len(frame)
    if for_evaluator and n < threshold:
        return None, f"Not given: fewer than {threshold} people have a score in both waves."
    if n < 3 or frame["attended"].nunique() < 2:
        return None, "Not given: everyone paired attended the same number of sessions."
    fit = sm.OLS(frame["change"], sm.add_constant(frame["attended"])).fit()
    low, high = fit.conf_int(alpha=1 - confidence).loc["attended"]
    return (
        Slope(
            n,
            float(fit.params["attended"]),
            float(low),
            float(high),
            float(fit.pvalues["attended"]),
        ),
        "",
    )
