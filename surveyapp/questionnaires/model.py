"""What a questionnaire is, independent of files, forms and storage.

Flask-free: plain frozen dataclasses. Answers are a mapping from an answer
id (an item id, a matrix row id, or ``<item id>_other``) to a value: an
option code (int or str), a list of codes, a number or a text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Code = int | str


def is_answered(value: Any) -> bool:
    """Whether a stored value counts as an answer (not missing, not blank)."""
    return value is not None and value != "" and value != [] and value != ()


# -- conditions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Equals:
    item_id: str
    value: Code

    def holds(self, answers: Mapping[str, Any]) -> bool:
        answer = answers.get(self.item_id)
        if isinstance(answer, list | tuple):
            return self.value in answer
        return answer == self.value

    def item_ids(self) -> Iterator[str]:
        yield self.item_id


@dataclass(frozen=True)
class OneOf:
    item_id: str
    values: tuple[Code, ...]

    def holds(self, answers: Mapping[str, Any]) -> bool:
        answer = answers.get(self.item_id)
        if isinstance(answer, list | tuple):
            return any(value in self.values for value in answer)
        return answer in self.values

    def item_ids(self) -> Iterator[str]:
        yield self.item_id


@dataclass(frozen=True)
class Answered:
    item_id: str
    answered: bool = True

    def holds(self, answers: Mapping[str, Any]) -> bool:
        return is_answered(answers.get(self.item_id)) == self.answered

    def item_ids(self) -> Iterator[str]:
        yield self.item_id


@dataclass(frozen=True)
class Not:
    condition: Condition

    def holds(self, answers: Mapping[str, Any]) -> bool:
        return not self.condition.holds(answers)

    def item_ids(self) -> Iterator[str]:
        yield from self.condition.item_ids()


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]

    def holds(self, answers: Mapping[str, Any]) -> bool:
        return all(condition.holds(answers) for condition in self.conditions)

    def item_ids(self) -> Iterator[str]:
        for condition in self.conditions:
            yield from condition.item_ids()


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]

    def holds(self, answers: Mapping[str, Any]) -> bool:
        return any(condition.holds(answers) for condition in self.conditions)

    def item_ids(self) -> Iterator[str]:
        for condition in self.conditions:
            yield from condition.item_ids()


Condition = Equals | OneOf | Answered | Not | AllOf | AnyOf


# -- items -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    code: Code
    label: str


@dataclass(frozen=True)
class Row:
    """One statement of a matrix; answered like a Likert item under its own id."""

    id: str
    text: str
    origin: str = "written"


#: Item types whose answers are numbers that a scale can score.
SCORABLE_TYPES = frozenset({"likert", "bipolar", "number", "matrix"})
#: Item types that can be reverse-coded (an ordered set of points).
REVERSIBLE_TYPES = frozenset({"likert", "bipolar", "matrix"})


@dataclass(frozen=True)
class Item:
    id: str
    type: str  # one of loader.KINDS
    text: str
    hint: str = ""
    required: bool = True
    #: The answer can tell who a person is (their team, their role, their name): it is
    #: treated like the cohort's team field in everything made for evaluators.
    identifying: bool = False
    origin: str = "written"  # "quoted" from a source document, or "written" for the product
    show_if: Condition | None = None
    options: tuple[Option, ...] = ()
    not_applicable: Option | None = None
    other: Option | None = None  # the "Other, please say" choice, with a text box
    max_choices: int | None = None
    left: str = ""
    right: str = ""
    points: int = 0
    positive: str = "left"
    min: float | None = None
    max: float | None = None
    integer: bool = True
    unit: str = ""
    max_length: int = 0
    rows: tuple[Row, ...] = ()

    @property
    def other_id(self) -> str:
        """The answer id under which the "other" text is kept."""
        return f"{self.id}_other"

    def is_shown(self, answers: Mapping[str, Any]) -> bool:
        return self.show_if is None or self.show_if.holds(answers)

    def answer_ids(self) -> tuple[str, ...]:
        """Every answer id this item stores (matrix rows, the other text)."""
        if self.type == "matrix":
            return tuple(row.id for row in self.rows)
        if self.other is not None:
            return (self.id, self.other_id)
        return (self.id,)

    def all_options(self) -> tuple[Option, ...]:
        """Options as offered, in order: the list, then "other", then "not applicable"."""
        extra = tuple(o for o in (self.other, self.not_applicable) if o is not None)
        if self.type == "bipolar":
            return tuple(Option(point, str(point)) for point in range(1, self.points + 1))
        return self.options + extra

    def label_of(self, code: Any) -> str:
        for option in self.all_options():
            if option.code == code:
                return option.label
        return str(code)

    def point_values(self) -> tuple[Code, ...]:
        """The scored points of a Likert-like item, in order (not "not applicable")."""
        if self.type == "bipolar":
            return tuple(range(1, self.points + 1))
        return tuple(option.code for option in self.options)


@dataclass(frozen=True)
class Page:
    id: str
    title: str
    items: tuple[Item, ...]
    intro: str = ""
    show_if: Condition | None = None
    #: The line of the file where the page starts (for the editor's preview), 0 when unknown.
    line: int = field(default=0, compare=False)

    def is_shown(self, answers: Mapping[str, Any]) -> bool:
        return self.show_if is None or self.show_if.holds(answers)

    def shown_items(self, answers: Mapping[str, Any]) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.is_shown(answers))


@dataclass(frozen=True)
class Scale:
    id: str
    label: str
    items: tuple[str, ...]
    reverse: tuple[str, ...] = ()
    method: str = "mean"
    min_answered: int = 1


@dataclass(frozen=True)
class Questionnaire:
    key: str
    title: str
    pages: tuple[Page, ...]
    estimated_minutes: int
    source: str
    description: str = ""
    scales: tuple[Scale, ...] = ()
    content_hash: str = field(default="", compare=False)

    def items(self) -> Iterator[Item]:
        for page in self.pages:
            yield from page.items

    def item(self, item_id: str) -> Item:
        for item in self.items():
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def page(self, page_id: str) -> Page:
        for page in self.pages:
            if page.id == page_id:
                return page
        raise KeyError(page_id)

    def shown_pages(self, answers: Mapping[str, Any]) -> tuple[Page, ...]:
        """The pages this participant goes through, given their answers so far.

        The one rule by which pages are shown and counted (the participant's "Page x of
        y", the reminders' "pages done of pages" and the non-respondent list all follow
        it, through ``respond.flow.progress``): a page counts when its condition holds on
        the answers that still apply (an answer on a page that stopped applying opens
        nothing, as :meth:`relevant_answers` drops it) and it has a question to show.
        """
        kept = self.relevant_answers(answers)
        return tuple(page for page in self.pages if page.is_shown(kept) and page.shown_items(kept))

    def page_after(self, page_id: str | None, answers: Mapping[str, Any]) -> Page | None:
        """The next shown page after ``page_id`` (the first when None); None at the end."""
        pages = self.shown_pages(answers)
        if page_id is None:
            return pages[0] if pages else None
        ids = [page.id for page in self.pages]
        position = ids.index(page_id)
        for page in pages:
            if ids.index(page.id) > position:
                return page
        return None

    def page_before(self, page_id: str, answers: Mapping[str, Any]) -> Page | None:
        ids = [page.id for page in self.pages]
        position = ids.index(page_id)
        earlier = [page for page in self.shown_pages(answers) if ids.index(page.id) < position]
        return earlier[-1] if earlier else None

    def relevant_answers(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Keep only answers to items that are shown, given the answers themselves.

        Answers on pages or items that stopped applying are dropped, in
        questionnaire order, so a later condition sees what an earlier one kept.
        """
        kept: dict[str, Any] = {}
        for page in self.pages:
            if not page.is_shown(kept):
                continue
            for item in page.items:
                if not item.is_shown(kept):
                    continue
                for answer_id in item.answer_ids():
                    if answer_id in answers:
                        kept[answer_id] = answers[answer_id]
        return kept
