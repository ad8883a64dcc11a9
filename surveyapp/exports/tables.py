"""Export layouts: a wave's (or a programme's) answers as DataFrames, one function per layout.

Flask-free, and free of file formats (``formats`` turns these tables into
bytes). Built from ``scoring.load_answers``: one query per wave, then pandas.

Layouts:

- wide, per wave: one row per response. Identified waves: ``id_number`` first,
  rows by ID number. Anonymous waves: no ID at all, rows in random order
  (sorted by the response's random key, which says nothing of who answered
  or when), numbered ``respondent`` 1, 2 … within the file only. Then the
  cohort fields (team, organisation, region, role), every answer variable in
  questionnaire order, and the scale scores.
- long, per wave: one row per answer variable that holds a value (the wide
  table's answer columns, melted), with its label.
- wide, per programme: the identified waves side by side, one row per ID
  number, each wave's columns prefixed ``w1_``, ``w2_`` … in the order the
  waves open. Anonymous waves cannot be joined and are left out.

Names and emails are never read. Only answers to items that applied are
stored, so only those are exported; an item not asked is empty.

Exports for the evaluator role (``for_evaluator=True``) protect small groups
with the programme's one disclosure decision (``scoring.disclosure``, the
same the results pages use, decided across all the programme's waves):

1. The cohort fields are released as decided: a team, organisation, region or
   role too small to show, or in a combination shared by fewer than
   ``threshold`` rows, is "Other (small groups)". Every released combination
   of the four fields and the identifying answers holds at least ``threshold``
   rows; the export checks this before it writes (``NotReleasable``).
2. Answers to items marked ``identifying`` are withheld from every row whose
   fields are pooled or whose combination with them would be rare.
3. Free text (text items and "other" boxes) is kept only for rows whose own
   team, organisation, region and role (as recorded, not as released) each
   have at least 10 respondents (or the threshold, when higher); otherwise it
   is "[hidden: …]" on every such row, typed or not, so the file does not say
   who wrote something.
4. A wave with fewer responses than the threshold is not exported for the
   evaluator at all.

The codebook says so in the labels. Answers and scores are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from surveyapp.exports.codebook import (
    ANSWER_ROLES,
    Names,
    Variable,
    codebook_frame,
    key_variable,
    wave_variables,
)
from surveyapp.exports.progress import Progress, no_progress
from surveyapp.models import Programme, Wave
from surveyapp.quality import columns
from surveyapp.quality import operations as quality
from surveyapp.questionnaires import Questionnaire
from surveyapp.questionnaires.catalogue import cached_questionnaire_of, questionnaire_of
from surveyapp.questionnaires.comparability import incomparable
from surveyapp.scoring.disclosure import (
    DOSE_FIELDS,
    POOLED,
    NotReleasable,
    Release,
    check_released,
    identifying_ids,
    programme_release,
    programme_releases,
)
from surveyapp.scoring.scales import load_answers, response_frame, scale_scores
from surveyapp.scoring.summary import comment_writers
from surveyapp.scoring.suppression import DEFAULT_THRESHOLD, FREE_TEXT_THRESHOLD, check_threshold

#: What replaces free text from a group too small for its text to be shown: on every row
#: of the group, typed or not, so it does not tell who wrote something.
#: The columns the scores sheet keeps: the key, cohort fields, session, dose and scores.
KEPT_WITH_SCORES = ("key", "group", "session", "dose", "score", "quality")
#: The columns every row of the long layout repeats (the data-quality flags too).
ROW_ROLES = ("key", "group", "session", "dose", "quality")
TEXT_HIDDEN = f"[hidden: fewer than {FREE_TEXT_THRESHOLD} responses in this group]"


@dataclass(frozen=True, eq=False)
class ExportTables:
    """The wide table of an export with the variables that describe its columns."""

    data: pd.DataFrame
    variables: tuple[Variable, ...]
    #: Whether small groups are hidden (an evaluator's file) or not (the full file).
    suppressed: bool = False
    #: What was left out by data-quality flags, in a sentence ("" when nothing was asked).
    exclusion: str = ""

    @property
    def key(self) -> str:
        """The name of the first column: ``id_number`` or ``respondent``."""
        return self.variables[0].name

    @cached_property
    def codebook(self) -> pd.DataFrame:
        """The codebook of the wide table."""
        return codebook_frame(self.variables)

    def scores(self) -> pd.DataFrame:
        """The key, the cohort fields and the scale scores only."""
        keep = [v.name for v in self.variables if v.role in KEPT_WITH_SCORES]
        return self.data[keep]

    def scores_codebook(self) -> pd.DataFrame:
        """The codebook of ``scores()``."""
        keep = [v for v in self.variables if v.role in KEPT_WITH_SCORES]
        return codebook_frame(keep)

    def long(self) -> pd.DataFrame:
        """One row per answer: the answer columns of the wide table, melted."""
        return melt_answers(self.data, self.variables)

    def long_codebook(self) -> pd.DataFrame:
        """The codebook of ``long()``: its own columns (the wide codebook explains the codes)."""
        return codebook_frame(long_variables(self.variables))


# -- one wave ----------------------------------------------------------------------------


def wave_tables(
    session: Session,
    wave: Wave,
    *,
    for_evaluator: bool,
    threshold: int = DEFAULT_THRESHOLD,
    answers: pd.DataFrame | None = None,
    progress: Progress = no_progress,
    release: Release | None = None,
    exclude: tuple[str, ...] = (),
) -> ExportTables:
    """Build a wave's wide table and its variables (one query, then pandas).

    For the evaluator, labels are released as the programme's disclosure decision
    says (``release``, read from the database when not given).

    :param answers: the wave's ``load_answers`` table, when the caller has it already
        (several exports of one wave then load it once).
    :param progress: told how far the stages "loading" and "scoring" have got.
    :param exclude: data-quality rules whose flagged responses are left out, when
        ``quality.operations.decide_exclusion`` finds that safe (the file says so).
    """
    check_threshold(threshold)
    version = wave.questionnaire_version
    questionnaire = questionnaire_of(version)
    variables = wave_variables(
        questionnaire, anonymous=wave.is_anonymous, version=version.number, wave=wave.label
    )
    if answers is None:
        answers = load_answers(
            session,
            wave,
            progress=lambda done, total: progress("loading", done / total if total else 0.0),
        )
    progress("loading", 1.0)
    progress("scoring", 0.0)
    data = build_wide(answers, questionnaire, variables, anonymous=wave.is_anonymous)
    data, variables = with_session_and_dose(session, wave, data, variables)
    flags = quality.wave_flags(session, wave, questionnaire, answers)
    data, variables = columns.with_quality(data, variables, flags, anonymous=wave.is_anonymous)
    if for_evaluator and release is None:
        release = programme_release(session, wave, threshold)
    exclusion = quality.decide_exclusion(
        flags, exclude, release=release if for_evaluator else None, threshold=threshold
    )
    data = data.drop(index=exclusion.left_out)
    if for_evaluator:
        identifying = identifying_ids(questionnaire)
        # Exact counts of sessions would single people out beside their team: an
        # evaluator's file carries the bands only, released as the decision says.
        variables = [v for v in variables if v.role != "dose" or v.source in DOSE_FIELDS]
        data = data[[v.name for v in variables]]
        data = protect_groups(data, variables, release, identifying)
        variables = pooled_labels(variables, threshold, identifying)
    progress("scoring", 1.0)
    said = exclusion.sentence() if exclude else ""
    return ExportTables(data.reset_index(drop=True), tuple(variables), for_evaluator, said)


def with_session_and_dose(
    session: Session, wave: Wave, data: pd.DataFrame, variables: list[Variable]
) -> tuple[pd.DataFrame, list[Variable]]:
    """Add the session a wave evaluates (after the cohort fields) and, in an identified
    wave, each person's dose: attendance and mentoring as of the wave's close (at the end)."""
    from surveyapp.evaluations import operations as evaluation
    from surveyapp.scoring import dose

    taken = {variable.name.lower() for variable in variables}
    stamp = {"questionnaire": variables[0].questionnaire, "version": variables[0].version,
             "wave": variables[0].wave}  # fmt: skip

    def named(variable: Variable) -> Variable:
        name = variable.name
        while name.lower() in taken:
            name = f"{name}_{variable.role}"
        taken.add(name.lower())
        return replace(variable, name=name, **stamp)

    facts = evaluation.wave_session_facts(session, wave)
    if facts is not None:
        place = max(i for i, v in enumerate(variables) if v.role in ("key", "group")) + 1
        added = []
        for variable, value in evaluation.session_columns(facts):
            variable = named(variable)
            data[variable.name] = pd.Series(value, index=data.index, dtype=object)
            if variable.is_integer:
                data[variable.name] = data[variable.name].astype("Int64")
            added.append(variable)
        variables = variables[:place] + added + variables[place:]
    if not wave.is_anonymous and dose.counts_dose(session, wave.programme):
        doses = dose.dose_table(session, wave.programme, now=wave.closes_at)
        people = data["id_number"] if "id_number" in data else pd.Series(dtype=object)
        for variable in dose.dose_variables(dose.programme_bands(session, wave.programme)):
            column = doses[variable.source].reindex(people.to_numpy())
            variable = named(variable)
            data[variable.name] = column.to_numpy()
            variables = [*variables, variable]
    return data[[variable.name for variable in variables]], variables


def wide_table(
    session: Session, wave: Wave, *, for_evaluator: bool, threshold: int = DEFAULT_THRESHOLD
) -> pd.DataFrame:
    """Return a wave's wide table: one row per response (see the module docstring)."""
    return wave_tables(session, wave, for_evaluator=for_evaluator, threshold=threshold).data


def long_table(
    session: Session, wave: Wave, *, for_evaluator: bool, threshold: int = DEFAULT_THRESHOLD
) -> pd.DataFrame:
    """Return a wave's long table: one row per answer."""
    return wave_tables(session, wave, for_evaluator=for_evaluator, threshold=threshold).long()


def build_wide(
    answers: pd.DataFrame,
    questionnaire: Questionnaire,
    variables: list[Variable],
    *,
    anonymous: bool,
) -> pd.DataFrame:
    """Lay out the long answer table as one row per response, one column per variable.

    The rows are indexed by response id, in the export's order.
    """
    people = response_frame(answers)
    if anonymous:
        # The response key is random (uuid4): sorting by it is a random order, the same
        # in every export, and unrelated to who answered or when.
        order = people.sort_index().index
    else:
        order = people.sort_values("id_number", kind="stable").index
    people = people.loc[order]
    values = answers.dropna(subset=["answer_id"]).pivot(
        index="response_id", columns="answer_id", values="value"
    )
    values = values.reindex(order)
    scores = scale_scores(answers, questionnaire).reindex(order)
    flags = _choice_flags(answers, variables, order)
    columns: dict[str, pd.Series] = {}
    for variable in variables:
        if variable.role == "key":
            if anonymous:
                column = pd.Series(np.arange(1, len(order) + 1), index=order, dtype="Int64")
            else:
                column = people["id_number"].astype(object)
        elif variable.role == "group":
            column = people[variable.source].astype(object)
        elif variable.role == "score":
            column = scores[variable.source].astype(float)
        elif variable.role == "choice":
            column = flags[variable.name]
        else:
            raw = values[variable.source] if variable.source in values else _empty(order)
            column = _convert(raw, variable)
        columns[variable.name] = column
    return pd.DataFrame(columns, index=order)


def _empty(index: pd.Index) -> pd.Series:
    return pd.Series(None, index=index, dtype=object)


def _convert(raw: pd.Series, variable: Variable) -> pd.Series:
    """Turn stored values into the column's type: codes and numbers, or text."""
    if variable.type == "string":
        text = raw.astype("string")
        return text.astype(object).where(text.notna(), None)
    if variable.recode:
        words = raw.isin(list(variable.recode))
        raw = pd.Series(np.where(words, raw.map(variable.recode), raw), index=raw.index)
    numbers = pd.to_numeric(raw.astype(object), errors="coerce").astype(float)
    if variable.is_integer:
        whole = numbers.where(numbers == np.round(numbers))
        return whole.astype("Int64")
    return numbers


def _choice_flags(
    answers: pd.DataFrame, variables: list[Variable], order: pd.Index
) -> dict[str, pd.Series]:
    """One 0/1 column per option of every multiple-choice item; empty where it was not asked."""
    flags = [variable for variable in variables if variable.role == "choice"]
    if not flags:
        return {}
    items = sorted({variable.source for variable in flags})
    asked = answers[answers["answer_id"].isin(items)][["response_id", "answer_id", "value"]]
    is_list = asked["value"].map(lambda value: isinstance(value, list | tuple)).astype(bool)
    asked = asked.loc[is_list]
    chosen = asked.explode("value").dropna(subset=["value"])
    keys = chosen["answer_id"] + "\x1f" + chosen["value"].astype(str)
    table = pd.crosstab(chosen["response_id"], keys) if len(chosen) else pd.DataFrame()
    was_asked = pd.crosstab(asked["response_id"], asked["answer_id"]) if len(asked) else None
    result = {}
    for variable in flags:
        key = f"{variable.source}\x1f{variable.code}"
        counts = table[key] if key in table else pd.Series(dtype=float)
        column = (counts.reindex(order, fill_value=0) > 0).astype(int).astype("Int64")
        if was_asked is not None and variable.source in was_asked:
            shown = was_asked[variable.source].reindex(order, fill_value=0) > 0
        else:
            shown = pd.Series(False, index=order)
        result[variable.name] = column.where(shown, pd.NA)
    return result


# -- small groups ------------------------------------------------------------------------


def protect_groups(
    data: pd.DataFrame,
    variables: list[Variable],
    release: Release,
    identifying: list[str],
) -> pd.DataFrame:
    """Release ``data`` (indexed by response id) as ``release`` decided (module docstring).

    :raises NotReleasable: when a released combination would still be shared by
        fewer than the threshold of rows (a wave with fewer responses than that).
    """
    threshold = release.threshold
    data = data.copy()
    if data.empty:
        return data
    if len(data) < threshold:
        raise NotReleasable(
            f"This wave has {len(data)} response{'s' if len(data) != 1 else ''}, fewer than "
            f"the reporting threshold of {threshold}, so nothing can be exported with small "
            "groups protected. Ask again when more people have answered."
        )
    labels = release.labels.reindex(data.index)
    groups = [v for v in variables if v.role == "group"]
    for variable in groups:
        data[variable.name] = labels[variable.source].to_numpy()
    bands = [v for v in variables if v.role == "dose"]
    for variable in bands:
        if variable.source in release.pooled.columns:
            kept = ~release.pooled[variable.source].reindex(data.index, fill_value=True)
            data[variable.name] = data[variable.name].where(kept.to_numpy(), pd.NA)
    withheld = data.index.isin(release.withheld())
    marked = [v for v in variables if v.source in identifying and v.role != "group"]
    for variable in marked:
        data[variable.name] = data[variable.name].astype(object).where(~withheld, None)
    writers = comment_writers(release.real.reindex(data.index), max(FREE_TEXT_THRESHOLD, threshold))
    too_few = ~data.index.isin(writers)
    for variable in variables:
        if variable.is_free_text and variable not in marked:
            data[variable.name] = data[variable.name].astype(object).where(~too_few, TEXT_HIDDEN)
    check_released(data, [v.name for v in groups + bands + marked], threshold)
    return data


def pooled_labels(
    variables: list[Variable], threshold: int, identifying: list[str] = ()
) -> list[Variable]:
    """Say in the labels what was pooled or withheld for small groups."""
    pooled = f" (groups too small to show are released as “{POOLED}”; see the README)"
    withheld = " (left blank where the person's group is small: it can tell who they are)"
    text = (
        f" (withheld for people whose team, organisation, region or role has fewer than "
        f"{max(FREE_TEXT_THRESHOLD, threshold)} respondents)"
    )
    band = " (left blank where the band is held by too few people to show)"
    labelled = []
    for variable in variables:
        if variable.role == "group":
            variable = replace(variable, label=variable.label + pooled)
        elif variable.role == "dose":
            variable = replace(variable, label=variable.label + band)
        elif variable.source in identifying:
            variable = replace(variable, label=variable.label + withheld)
        elif variable.is_free_text:
            variable = replace(variable, label=variable.label + text)
        labelled.append(variable)
    return labelled


# -- long layout -------------------------------------------------------------------------


def long_variables(variables: tuple[Variable, ...] | list[Variable]) -> list[Variable]:
    """The columns of the long table."""
    first = [v for v in variables if v.role in ROW_ROLES]
    stamp = {
        "questionnaire": first[0].questionnaire,
        "version": first[0].version,
        "wave": first[0].wave,
    }
    extra = [
        Variable(
            "variable",
            "Variable name in the wide table and the codebook",
            "string",
            "nominal",
            "long",
            "variable",
        ),
        Variable(
            "answer_id",
            "Answer id in the questionnaire file",
            "string",
            "nominal",
            "long",
            "answer_id",
        ),
        Variable(
            "value_number",
            "Value, when it is a code or a number",
            "numeric",
            "scale",
            "long",
            "value_number",
        ),
        Variable("value_text", "Value, when it is text", "string", "nominal", "long", "value_text"),
        Variable("value_label", "What the code means", "string", "nominal", "long", "value_label"),
    ]
    return first + [replace(variable, **stamp) for variable in extra]


def melt_answers(
    data: pd.DataFrame, variables: tuple[Variable, ...] | list[Variable]
) -> pd.DataFrame:
    """Melt the answer columns of a wide table into one row per answer that holds a value."""
    ids = [v.name for v in variables if v.role in ROW_ROLES]
    answer_vars = [v for v in variables if v.role in ANSWER_ROLES]
    names = [v.name for v in answer_vars]
    columns = ["variable", "answer_id", "value_number", "value_text", "value_label"]
    if not names or data.empty:
        return pd.DataFrame(columns=ids + columns)
    rows, width = len(data), len(names)
    values = np.empty((rows, width), dtype=object)
    labels = np.full((rows, width), None, dtype=object)
    for place, variable in enumerate(answer_vars):
        column = data[variable.name].astype(object)
        present = column.notna().to_numpy()
        cells = column.to_numpy(copy=True)
        cells[~present] = None
        values[:, place] = cells
        if variable.value_labels and present.any():
            # Each distinct value once: its text is the code a value label is found by.
            codes, uniques = pd.factorize(cells[present])
            by_code = {str(code): label for code, label in variable.value_labels.items()}
            found = np.array([by_code.get(str(value)) for value in uniques] + [None], object)
            column_labels = np.full(rows, None, dtype=object)
            column_labels[present] = found[codes]
            labels[:, place] = column_labels
    # Row-major: each response's answers together, in questionnaire order.
    kept = np.not_equal(values, None).ravel()
    row = np.repeat(np.arange(rows), width)[kept]
    place = np.tile(np.arange(width), rows)[kept]
    long = data[ids].iloc[row].reset_index(drop=True)
    for name in ids:  # as a melt and merge would leave them: texts as text columns
        if long[name].dtype == object:
            long[name] = long[name].infer_objects()
    variable_names = np.array(names, dtype=object)
    long["variable"] = pd.array(variable_names[place], dtype="str")
    value = pd.Series(values.ravel()[kept], dtype=object)
    numeric = np.array([v.type == "numeric" for v in answer_vars])[place]
    sources = np.array([v.source for v in answer_vars], dtype=object)
    long["answer_id"] = pd.array(sources[place], dtype="str")
    long["value_number"] = pd.to_numeric(value.where(numeric), errors="coerce")
    long["value_text"] = value.where(~numeric, None)
    long["value_label"] = pd.Series(labels.ravel()[kept], dtype=object)
    return long[ids + columns].reset_index(drop=True)


# -- a whole programme -------------------------------------------------------------------


def programme_tables(
    session: Session,
    programme: Programme,
    *,
    for_evaluator: bool,
    threshold: int = DEFAULT_THRESHOLD,
    releases: dict | None = None,
    built: dict[int, ExportTables] | None = None,
) -> ExportTables:
    """Join a programme's identified waves side by side on ID number: one row per person.

    After the waves' columns come ``answered_w1``, ``answered_w2`` … (1 when the
    person has a response in that wave) and ``waves_answered`` (how many).

    :param releases: the programme's disclosure decision (``programme_releases``),
        when the caller has decided it already.
    :param built: the waves' tables by wave id, when the caller has built them
        already; only these waves are then joined (each keeps its number).
    """
    check_threshold(threshold)
    waves = sorted(
        (wave for wave in programme.waves if not wave.is_anonymous),
        key=lambda wave: (wave.opens_at, wave.id),
    )
    key = key_variable(anonymous=False)
    names = Names()
    names.claim(key.name)
    variables: list[Variable] = [replace(key, wave="")]
    joined: pd.DataFrame | None = None
    if releases is None:
        releases = programme_releases(session, programme, threshold) if for_evaluator else {}
    answered: list[tuple[int, Wave, pd.Index]] = []
    earlier: list[Wave] = []
    for number, wave in enumerate(waves, start=1):
        if built is not None:
            if wave.id not in built:
                continue
            tables = built[wave.id]
        else:
            tables = wave_tables(
                session,
                wave,
                for_evaluator=for_evaluator,
                threshold=threshold,
                release=releases.get(wave.id),
            )
        answered.append((number, wave, pd.Index(tables.data[key.name])))
        breaks = _breaks_since(earlier, wave)
        earlier.append(wave)
        renamed = {}
        for variable in tables.variables[1:]:
            name = names.claim(f"w{number}_{variable.name}")
            renamed[variable.name] = name
            label = f"{wave.label}: {variable.label}"
            note = "" if variable.role in ("key", "group") else breaks.get(variable.source, "")
            if note:
                label = f"{label} (not comparable with earlier waves)"
            variables.append(replace(variable, name=name, label=label, comparability=note))
        part = tables.data.rename(columns=renamed).set_index(key.name)
        joined = part if joined is None else joined.join(part, how="outer")
    if joined is None:
        return ExportTables(pd.DataFrame(columns=[key.name]), tuple(variables), for_evaluator)
    data = joined.sort_index().reset_index()
    counted = pd.Series(0, index=data.index)
    for number, wave, ids in answered:
        name = names.claim(f"answered_w{number}")
        flag = data[key.name].isin(ids).astype(int)
        data[name] = flag
        counted += flag
        variables.append(_answered_variable(name, f"Answered {wave.label}", wave.label))
    name = names.claim("waves_answered")
    data[name] = counted
    variables.append(
        Variable(
            name,
            "How many of these waves the person answered",
            "numeric",
            "scale",
            "waves",
            "waves_answered",
            is_integer=True,
        )
    )
    return ExportTables(data[[v.name for v in variables]], tuple(variables), for_evaluator)


def _breaks_since(earlier: list[Wave], wave: Wave) -> dict[str, str]:
    """Map each answer or scale id of ``wave`` that an earlier wave measured otherwise to why."""
    new = cached_questionnaire_of(wave.questionnaire_version)
    notes: dict[str, list[str]] = {}
    for before in earlier:
        old_version = before.questionnaire_version
        if old_version.questionnaire_key != new.key:
            continue
        if old_version.id == wave.questionnaire_version_id:
            continue
        for source, reason in incomparable(cached_questionnaire_of(old_version), new).items():
            notes.setdefault(source, []).append(
                f"Not comparable with {before.label} (version {old_version.number}): {reason}."
            )
    return {source: " ".join(texts) for source, texts in notes.items()}


def _answered_variable(name: str, label: str, wave: str) -> Variable:
    return Variable(
        name,
        label,
        "numeric",
        "nominal",
        "waves",
        "answered",
        value_labels={0: "No", 1: "Yes"},
        is_integer=True,
        wave=wave,
    )


def programme_wide_table(
    session: Session,
    programme: Programme,
    *,
    for_evaluator: bool,
    threshold: int = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Return the programme-wide table: identified waves side by side, one row per ID number."""
    return programme_tables(
        session, programme, for_evaluator=for_evaluator, threshold=threshold
    ).data
