"""Export variables: their SPSS-valid names, labels, types, codes and missing values.

Flask-free, and free of any file format. Every export layout builds its
columns from the list of ``Variable`` made here, so the CSV, the Excel file,
the ``.sav`` file and the codebook use the same names.

Names follow SPSS's rules: they start with a letter, hold only ASCII letters,
digits and ``_``, are at most 64 bytes, are not one of SPSS's reserved words,
and are unique ignoring case. A name depends only on the questionnaire (and,
programme-wide, on the wave's place among the programme's waves), so two
exports of the same questionnaire have the same names:

- the key (``id_number``, or ``respondent`` in anonymous waves) and the cohort
  fields ``team``, ``organisation``, ``region``, ``role`` come first;
- an item, a matrix row or an "other" text keeps its answer id; when that is
  taken (an item called ``role``) or reserved, it gets ``_answer`` after it;
- a multiple-choice item becomes one 0/1 variable per option, ``<item>_<code>``
  (the "other" option's flag is ``<item>_other_chosen``, because
  ``<item>_other`` is the text typed for it);
- a scale score is named after the scale id (``<id>_score`` when taken);
- a name still taken gets ``_2``, ``_3`` … (shortened to stay within 64 bytes).

Labels are kept whole here. A ``.sav`` file holds at most 255 bytes of a
variable label and 120 of a value label (``sav_label``): a longer one is cut
there, ending "…", and the codebook's ``notes`` column says which were cut. A
label ending in an explanation in brackets (how a score is made, that small
groups are pooled) keeps that explanation whole and is cut before it, when
that leaves room for the start of the label.

Option codes that are words (the default code ``other``, a text code for
"not applicable") in an item whose other codes are whole numbers are exported
as 96, 97 … (the first free ones), so the variable stays numeric; the value
labels say what each number means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from surveyapp.questionnaires import Item, Questionnaire
from surveyapp.questionnaires.answers import question_and_row
from surveyapp.scoring.scales import GROUP_FIELDS, TEXT_TYPES, scale_info
from surveyapp.text import CONTROL_CHARACTERS

MAX_NAME_BYTES = 64
#: SPSS keeps at most this many bytes of a variable label and of a value label.
SAV_LABEL_BYTES = 255
SAV_VALUE_LABEL_BYTES = 120
#: What ends a label the ``.sav`` file holds cut.
CUT_MARK = "…"
#: A closing explanation stays whole in a cut label when this much is left before it.
SAV_LABEL_HEAD = 64
#: SPSS's reserved words, which cannot be variable names.
RESERVED = frozenset(
    {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
)
#: The first code given to a word code in an otherwise numeric item.
FIRST_WORD_CODE = 96

CHOSEN_LABELS = {0: "Not chosen", 1: "Chosen"}
GROUP_LABELS = {
    "team": "Team",
    "organisation": "Organisation",
    "region": "Region",
    "role": "Role in the programme",
}
#: Variable roles that hold a participant's answers (as opposed to keys, groups, scores).
ANSWER_ROLES = frozenset({"answer", "choice", "other_text", "text"})

CODEBOOK_COLUMNS = [
    "variable",
    "label",
    "type",
    "measurement",
    "value_labels",
    "missing_values",
    "questionnaire",
    "version",
    "wave",
    "source",
    "notes",
]


@dataclass(frozen=True)
class Variable:
    """One column of an export and everything the codebook says about it."""

    name: str
    label: str
    #: "numeric" or "string".
    type: str
    #: SPSS measurement level: "nominal", "ordinal" or "scale".
    measurement: str
    #: "key", "group", "answer", "choice" (a multiple-choice flag), "other_text",
    #: "text" (free text) or "score".
    role: str
    #: The answer id, scale id or cohort field the column comes from.
    source: str
    value_labels: dict[Any, str] = field(default_factory=dict, hash=False)
    #: Codes that are user-missing (such as "not applicable").
    missing: tuple = ()
    #: Stored code -> exported code, for word codes in a numeric item.
    recode: dict[Any, Any] = field(default_factory=dict, hash=False)
    #: The option a multiple-choice flag stands for.
    code: Any = None
    #: Whole numbers only (exported without decimals).
    is_integer: bool = False
    questionnaire: str = ""
    version: int | None = None
    wave: str = ""
    #: Why the column does not compare with an earlier wave's (programme-wide file).
    comparability: str = ""

    @property
    def is_free_text(self) -> bool:
        """Whether the column holds text a participant typed."""
        return self.role in ("text", "other_text")


# -- names -------------------------------------------------------------------------------

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_]")


def valid_name(candidate: str) -> str:
    """Turn any text into a name SPSS accepts (not yet checked for being unique)."""
    name = _NOT_ALLOWED.sub("_", candidate)
    if not name or not name[0].isalpha():
        name = f"v{name}"
    return name[:MAX_NAME_BYTES]


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid SPSS variable name on its own."""
    return (
        bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name))
        and len(name.encode("utf-8")) <= MAX_NAME_BYTES
        and name.upper() not in RESERVED
    )


class Names:
    """Hand out unique names, ignoring case, in the order they are asked for."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, candidate: str, suffix: str = "") -> str:
        """Return ``candidate`` made valid, or with ``_<suffix>`` or a number when taken."""
        base = valid_name(candidate)
        options = [base]
        if suffix:
            options.append(_with_suffix(base, suffix))
        for name in options:
            if self._free(name):
                return self._take(name)
        number = 2
        while True:
            name = _with_suffix(options[-1], str(number))
            if self._free(name):
                return self._take(name)
            number += 1

    def _free(self, name: str) -> bool:
        return name.lower() not in self._taken and name.upper() not in RESERVED

    def _take(self, name: str) -> str:
        self._taken.add(name.lower())
        return name


def _with_suffix(name: str, suffix: str) -> str:
    tail = f"_{suffix}"
    return name[: MAX_NAME_BYTES - len(tail)] + tail


# -- variables of a wave -----------------------------------------------------------------


def key_variable(anonymous: bool) -> Variable:
    """The first column: the ID number, or a row number in an anonymous wave."""
    if anonymous:
        return Variable(
            "respondent",
            "Respondent number in this file only (anonymous wave: not an ID, rows in random order)",
            "numeric",
            "nominal",
            "key",
            "respondent",
            is_integer=True,
        )
    return Variable("id_number", "ID number", "string", "nominal", "key", "id_number")


def group_variables() -> list[Variable]:
    """The cohort fields every response carries."""
    return [
        Variable(
            name, f"{GROUP_LABELS[name]} (from the cohort)", "string", "nominal", "group", name
        )
        for name in GROUP_FIELDS
    ]


def wave_variables(
    questionnaire: Questionnaire,
    *,
    anonymous: bool,
    version: int | None = None,
    wave: str = "",
) -> list[Variable]:
    """List a wave's export columns in order: key, cohort fields, answers, scale scores."""
    names = Names()
    fixed = [key_variable(anonymous), *group_variables()]
    for variable in fixed:
        names.claim(variable.name)
    # Answer ids claim their names first, so an item keeps its id whatever comes later.
    planned = [_plan_item(item) for item in questionnaire.items()]
    claimed: dict[int, str] = {}
    for index, (kind, variable) in enumerate(_flatten(planned)):
        if kind == "direct":
            claimed[index] = names.claim(variable.name, "answer")
    for index, (kind, variable) in enumerate(_flatten(planned)):
        if kind == "derived":
            suffix = "chosen" if variable.role == "choice" else "answer"
            claimed[index] = names.claim(variable.name, suffix)
    answers = [
        replace(variable, name=claimed[index])
        for index, (_kind, variable) in enumerate(_flatten(planned))
    ]
    scores = []
    for info in scale_info(questionnaire):
        scores.append(
            Variable(
                names.claim(info.id, "score"),
                f"{info.label} (score: {info.describe()})",
                "numeric",
                "scale",
                "score",
                info.id,
            )
        )
    stamp = {"questionnaire": questionnaire.key, "version": version, "wave": wave}
    return [replace(variable, **stamp) for variable in fixed + answers + scores]


def _flatten(planned: list[list[tuple[str, Variable]]]) -> list[tuple[str, Variable]]:
    return [entry for entries in planned for entry in entries]


def _plan_item(item: Item) -> list[tuple[str, Variable]]:
    """The columns of one item, each marked "direct" (an answer id) or "derived"."""
    if item.type == "matrix":
        return [
            ("direct", _coded(item, row.id, question_and_row(item.text, row.text), row.id))
            for row in item.rows
        ]
    if item.type in TEXT_TYPES:
        return [("direct", Variable(item.id, item.text, "string", "nominal", "text", item.id))]
    if item.type == "number":
        label = f"{item.text} ({item.unit})" if item.unit else item.text
        return [
            (
                "direct",
                Variable(
                    item.id, label, "numeric", "scale", "answer", item.id, is_integer=item.integer
                ),
            )
        ]
    columns: list[tuple[str, Variable]] = []
    if item.type == "multiple_choice":
        for option in item.all_options():
            columns.append(
                (
                    "derived",
                    Variable(
                        f"{item.id}_{option.code}",
                        f"{item.text}: {option.label}",
                        "numeric",
                        "nominal",
                        "choice",
                        item.id,
                        value_labels=dict(CHOSEN_LABELS),
                        code=option.code,
                        is_integer=True,
                    ),
                )
            )
    else:
        columns.append(("direct", _coded(item, item.id, item.text, item.id)))
    if item.other is not None:
        label = f"{item.text}: {item.other.label} (text)"
        columns.append(
            (
                "direct",
                Variable(item.other_id, label, "string", "nominal", "other_text", item.other_id),
            )
        )
    return columns


def _coded(item: Item, name: str, label: str, source: str) -> Variable:
    """A single-choice, Likert, bipolar or matrix-row column, with its codes."""
    measurement = "nominal" if item.type == "single_choice" else "ordinal"
    if item.type == "bipolar":
        labels = {1: item.left, item.points: item.right}
        return Variable(
            name, label, "numeric", measurement, "answer", source, labels, is_integer=True
        )
    codes = [option.code for option in item.options]
    numeric = all(_is_int(code) for code in codes)
    recode: dict[Any, Any] = {}
    labels: dict[Any, str] = {}
    used = {code for code in codes if _is_int(code)}
    for option in item.all_options():
        code = option.code
        if numeric and not _is_int(code):
            code = next(number for number in range(FIRST_WORD_CODE, 10**9) if number not in used)
            used.add(code)
            recode[option.code] = code
        labels[code if numeric else str(code)] = option.label
    missing: tuple = ()
    if item.not_applicable is not None:
        na = recode.get(item.not_applicable.code, item.not_applicable.code)
        missing = (na if numeric else str(na),)
    return Variable(
        name,
        label,
        "numeric" if numeric else "string",
        measurement,
        "answer",
        source,
        labels,
        missing,
        recode,
        is_integer=numeric,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- labels in a .sav file --------------------------------------------------------------


def cut_to_bytes(text: str, limit: int) -> str:
    """``text`` within ``limit`` bytes of UTF-8: whole when it fits, else cut at a
    character boundary and ending "…"."""
    if len(text.encode("utf-8")) <= limit:
        return text
    room = limit - len(CUT_MARK.encode("utf-8"))
    return text.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip() + CUT_MARK


def _trailing_brackets(text: str) -> int | None:
    """Where a closing explanation " (…)" starts, brackets inside it allowed; None if none."""
    if not text.endswith(")"):
        return None
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[index], 0)
        if depth == 0:
            return index if index > 0 and text[index - 1] == " " else None
    return None


def sav_label(text: str, limit: int = SAV_LABEL_BYTES) -> str:
    """The label as a ``.sav`` file holds it, within ``limit`` bytes (SPSS's limit).

    A label that is too long is cut, ending "…". When it ends in an explanation
    in brackets that leaves room for at least ``SAV_LABEL_HEAD`` bytes before
    it, that explanation stays whole and the text before it is cut instead.
    """
    text = CONTROL_CHARACTERS.sub("", text)
    if len(text.encode("utf-8")) <= limit:
        return text
    start = _trailing_brackets(text)
    if start is not None:
        tail = text[start - 1 :]  # with the space before the bracket
        room = limit - len(tail.encode("utf-8"))
        if room >= SAV_LABEL_HEAD:
            return cut_to_bytes(text[: start - 1], room) + tail
    return cut_to_bytes(text, limit)


def sav_notes(label: str, value_labels: dict) -> str:
    """Say which of a variable's labels the ``.sav`` file holds cut ("" when none)."""
    notes = []
    if sav_label(label) != CONTROL_CHARACTERS.sub("", label):
        notes.append(
            f"The .sav file holds this variable label cut to SPSS's limit of "
            f"{SAV_LABEL_BYTES} bytes, ending “{CUT_MARK}”."
        )
    cut = [
        str(code)
        for code, text in value_labels.items()
        if sav_label(str(text), SAV_VALUE_LABEL_BYTES) != CONTROL_CHARACTERS.sub("", str(text))
    ]
    if cut:
        which = f"value label of {cut[0]}" if len(cut) == 1 else f"value labels of {', '.join(cut)}"
        notes.append(
            f"The .sav file holds the {which} cut to SPSS's limit of {SAV_VALUE_LABEL_BYTES} "
            f"bytes, ending “{CUT_MARK}”; the value labels here are whole."
        )
    return " ".join(notes)


# -- the codebook ------------------------------------------------------------------------


def _notes(variable: Variable) -> str:
    notes = (variable.comparability, sav_notes(variable.label, variable.value_labels))
    return " ".join(note for note in notes if note)


def codebook_frame(variables: Iterable[Variable]) -> pd.DataFrame:
    """List every variable: name, label, type, measurement level, codes, missing values, source.

    ``value_labels`` holds a dict (code -> label) and ``missing_values`` a list of
    codes; the file formats write them as "1 = Strongly disagree; 2 = …". Labels
    are whole; ``notes`` says which the ``.sav`` file holds cut (``sav_notes``).
    """
    rows = [
        {
            "variable": variable.name,
            "label": variable.label,
            "type": variable.type,
            "measurement": variable.measurement,
            "value_labels": dict(variable.value_labels),
            "missing_values": list(variable.missing),
            "questionnaire": variable.questionnaire,
            "version": variable.version,
            "wave": variable.wave,
            "source": variable.source,
            "notes": _notes(variable),
        }
        for variable in variables
    ]
    frame = pd.DataFrame(rows, columns=CODEBOOK_COLUMNS)
    return frame.astype({"version": "Int64"})
