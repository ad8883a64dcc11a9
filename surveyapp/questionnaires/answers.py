"""Turn what a participant posted for one page into typed answers, or messages per item.

Flask-free. The form arrives as a mapping from field name to the list of
posted strings (``request.form.to_dict(flat=False)``). Field names are answer
ids: the item id, a matrix row id, or ``<item id>_other``. Only items shown
given the earlier answers (and the answers earlier on the same page) are
read; anything else posted is ignored, so a forged field cannot store an
answer to a question the participant was never asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from surveyapp.questionnaires.model import Item, Page, Questionnaire, is_answered
from surveyapp.text import CONTROL_CHARACTERS


@dataclass
class PageAnswers:
    """Answers read from one page: ``values`` by answer id, and ``errors`` beside them."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: What was posted, as text, so an invalid page shows the participant what they typed.
    posted: dict[str, list[str]] = field(default_factory=dict)
    #: Items an answer on this page has just brought into view: asked next, not yet checked.
    revealed: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors and not self.revealed


def read_page(
    page: Page, form: Mapping[str, Sequence[str]], earlier: Mapping[str, Any]
) -> PageAnswers:
    """Read and check the answers to ``page``; ``earlier`` holds the answers before it.

    A page form says which items it displayed (``shown_items``). An item that an answer
    on the same page has just made relevant was not on the participant's screen, so it
    is not checked: it is listed in ``revealed`` and the page is shown again with it.
    """
    result = PageAnswers(posted={key: list(values) for key, values in form.items()})
    displayed = set((form.get(SHOWN_FIELD) or [""])[0].split()) if SHOWN_FIELD in form else None
    for item in page.items:
        if not item.is_shown({**earlier, **result.values}):
            continue
        if displayed is not None and item.id not in displayed:
            result.revealed.append(item.id)
            continue
        _READERS[item.type](item, form, result)
    return result


#: The hidden form field listing the ids of the items a page displayed.
SHOWN_FIELD = "shown_items"


def _first(form: Mapping[str, Sequence[str]], name: str) -> str:
    values = form.get(name) or [""]
    return clean_text(values[0]).strip()


def clean_text(text: str) -> str:
    """Drop control characters (keeping newlines and tabs) and use \\n line endings."""
    return CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _code_for(item: Item, raw: str) -> Any:
    for option in item.all_options():
        if str(option.code) == raw:
            return option.code
    raise ValueError(raw)


def _read_choice(item: Item, form, result: PageAnswers, answer_id: str | None = None) -> None:
    answer_id = answer_id or item.id
    raw = _first(form, answer_id)
    if not raw:
        result.values[answer_id] = None
        if item.required:
            result.errors[answer_id] = "Select an answer"
        return
    try:
        code = _code_for(item, raw)
    except ValueError:
        result.errors[answer_id] = "Select one of the answers shown"
        return
    result.values[answer_id] = code
    _read_other(item, form, result, chosen=[code])


def _read_other(item: Item, form, result: PageAnswers, chosen: list[Any]) -> None:
    if item.other is None:
        return
    text = _first(form, item.other_id)
    if item.other.code in chosen:
        if not text:
            result.errors[item.other_id] = f"Say what “{item.other.label}” is"
        elif len(text) > 200:
            result.errors[item.other_id] = "Answer must be 200 characters or fewer"
        result.values[item.other_id] = text or None
    else:
        result.values[item.other_id] = None


def _read_multiple(item: Item, form, result: PageAnswers) -> None:
    raws = [clean_text(value).strip() for value in form.get(item.id, []) if value.strip()]
    try:
        codes = [_code_for(item, raw) for raw in raws]
    except ValueError:
        result.errors[item.id] = "Select only answers shown"
        return
    codes = [option.code for option in item.all_options() if option.code in codes]
    result.values[item.id] = codes
    if not codes and item.required:
        result.errors[item.id] = "Select at least one answer"
    elif item.max_choices and len(codes) > item.max_choices:
        result.errors[item.id] = f"Select no more than {item.max_choices}"
    _read_other(item, form, result, chosen=codes)


def _read_matrix(item: Item, form, result: PageAnswers) -> None:
    for row in item.rows:
        _read_choice(item, form, result, answer_id=row.id)


def _read_number(item: Item, form, result: PageAnswers) -> None:
    raw = _first(form, item.id).replace(",", "").replace(" ", "")
    if not raw:
        result.values[item.id] = None
        if item.required:
            result.errors[item.id] = "Enter a number"
        return
    try:
        value: int | float = int(raw) if item.integer else float(raw)
    except ValueError:
        result.errors[item.id] = (
            "Enter a whole number, like 12" if item.integer else "Enter a number, like 2.5"
        )
        return
    if value != value or value in (float("inf"), float("-inf")):
        result.errors[item.id] = "Enter a number, like 2.5"
        return
    low, high = item.min, item.max
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            result.errors[item.id] = f"Enter a number between {_num(low)} and {_num(high)}"
        elif low is not None:
            result.errors[item.id] = f"Enter a number of {_num(low)} or more"
        else:
            result.errors[item.id] = f"Enter a number of {_num(high)} or less"
        return
    result.values[item.id] = value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _read_text(item: Item, form, result: PageAnswers) -> None:
    values = form.get(item.id) or [""]
    text = clean_text(values[0]).strip()
    if item.type == "short_text":
        text = " ".join(text.split())
    if not text:
        result.values[item.id] = None
        if item.required:
            result.errors[item.id] = "Enter an answer"
        return
    if len(text) > item.max_length:
        result.errors[item.id] = (
            f"Answer must be {item.max_length:,} characters or fewer; it has {len(text):,}"
        )
        return
    result.values[item.id] = text


_READERS = {
    "single_choice": _read_choice,
    "likert": _read_choice,
    "bipolar": _read_choice,
    "multiple_choice": _read_multiple,
    "matrix": _read_matrix,
    "number": _read_number,
    "short_text": _read_text,
    "long_text": _read_text,
}


# -- showing answers back --------------------------------------------------------------


def question_and_row(question: str, row: str) -> str:
    """Name one row of a grid: the question, then the row ("How sure are you? – At work").

    A colon ending the question is dropped, so that the two never read "?:".
    """
    return f"{question.rstrip().removesuffix(':').rstrip()} – {row}"


@dataclass(frozen=True)
class SummaryRow:
    page_id: str
    answer_id: str
    question: str
    answer: str


def summary(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> list[SummaryRow]:
    """List every shown question with its answer in words, for "Check your answers"."""
    kept = questionnaire.relevant_answers(answers)
    rows = []
    for page in questionnaire.shown_pages(kept):
        for item in page.shown_items(kept):
            if item.type == "matrix":
                for row in item.rows:
                    answer = describe(item, kept.get(row.id))
                    rows.append(
                        SummaryRow(page.id, row.id, question_and_row(item.text, row.text), answer)
                    )
                continue
            answer = describe(item, kept.get(item.id))
            if item.other is not None and is_answered(kept.get(item.other_id)):
                answer = f"{answer} ({kept[item.other_id]})"
            question = item.text or f"{item.left} / {item.right}"
            rows.append(SummaryRow(page.id, item.id, question, answer))
    return rows


def describe(item: Item, value: Any) -> str:
    """Write one stored answer in words."""
    if not is_answered(value):
        return "Not answered"
    if item.type == "multiple_choice":
        return ", ".join(item.label_of(code) for code in value)
    if item.type == "bipolar":
        return f"{value} of {item.points} (1 = “{item.left}”, {item.points} = “{item.right}”)"
    if item.type in ("single_choice", "likert", "matrix"):
        return item.label_of(value)
    if item.type == "number":
        text = _num(value)
        return f"{text} {item.unit}".strip()
    return str(value)


def as_posted(answers: Mapping[str, Any]) -> dict[str, list[str]]:
    """Write stored answers the way a form posts them, to fill a page in again."""
    posted: dict[str, list[str]] = {}
    for answer_id, value in answers.items():
        if isinstance(value, list | tuple):
            posted[answer_id] = [str(v) for v in value]
        elif is_answered(value):
            posted[answer_id] = [_num(value) if isinstance(value, float) else str(value)]
    return posted


def error_labels(page: Page, errors: Mapping[str, str]) -> dict[str, str]:
    """Name the question behind each error, for the error summary at the top of a page."""
    names: dict[str, str] = {}
    for item in page.items:
        texts = {row.id: row.text for row in item.rows}
        texts[item.id] = item.text or f"{item.left} / {item.right}"
        texts[item.other_id] = item.text
        for answer_id, text in texts.items():
            if answer_id in errors:
                names[answer_id] = text if len(text) <= 90 else text[:87].rstrip() + "…"
    return names
