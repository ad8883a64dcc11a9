"""The checks of one item's own fields: option lists and sets, and what each type adds.

Flask-free; the standard library only. A mixin of ``loader._Checker``, which
reads the file, places each problem and owns the item types (``loader.KINDS``);
these methods report through it (``error``, ``warn``) and read through its
typed helpers (``_text``, ``_int``, ``_list``). Every problem of an item is
reported, whatever else is wrong in it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from surveyapp.questionnaires.model import Item, Option, Row

ORIGINS = ("quoted", "written")
DEFAULT_MAX_LENGTH = {"short_text": 200, "long_text": 5000}

_CODE = re.compile(r"^[A-Za-z0-9_]{1,20}$")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f' Did you mean "{close[0]}"?' if close else ""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class Known:
    """An answer id seen so far, with what a condition or scale needs to know about it."""

    type: str
    codes: tuple[Any, ...]
    text: str


class ItemChecks:
    """Option lists and sets, and the fields of each item type (a mixin of the checker)."""

    option_sets: dict[str, tuple[Option, ...]]
    known: dict[str, Known]
    texts: dict[str, str]
    matrix_rows: dict[str, list[str]]
    default_origin: str

    # -- option sets and lists ---------------------------------------------------------

    def _option_sets(self, raw: dict) -> None:
        sets = raw.get("option_sets")
        if sets is None:
            return
        if not self._mapping(sets, raw, "option_sets", '"option_sets"'):
            return
        for name, options in sets.items():
            built = self._options_list(sets, name, options, f'the option set "{name}"')
            if built is not None:
                self.option_sets[str(name)] = built

    def _options_list(self, parent: Any, key: Any, options: Any, what: str):
        if not isinstance(options, list):
            self.error(parent, key, f"{what} must be a list of options ({{code: 1, label: ...}}).")
            return None
        if not options:
            self.error(parent, key, f"{what} has an empty list of options: add at least one.")
            return None
        built: list[Option] = []
        seen: dict[Any, int] = {}
        for index, option in enumerate(options):
            made = self._option(options, index, option, f"option {index + 1} of {what}")
            if made is None:
                continue
            if made.code in seen:
                self.error(
                    options,
                    index,
                    f"The option code {made.code!r} is used twice in {what} (options "
                    f"{seen[made.code] + 1} and {index + 1}). Each option needs its own code.",
                )
                continue
            seen[made.code] = index
            built.append(made)
        return tuple(built) if len(built) == len(options) else None

    def _option(self, parent: Any, key: Any, option: Any, what: str) -> Option | None:
        if not isinstance(option, dict):
            self.error(parent, key, f"{what} must be written as {{code: 1, label: ...}}.")
            return None
        self._unknown_keys(option, {"code", "label"}, what)
        code = option.get("code")
        if "code" not in option:
            self.error(option, None, f'{what} needs a "code:".')
            return None
        if not (is_int(code) or (isinstance(code, str) and _CODE.match(code))):
            self.error(
                option,
                "code",
                f"The code of {what} must be a whole number or a short word of letters, "
                f'digits and _ (at most 20), not "{code}".',
            )
            return None
        label = self._text(option, "label", what)
        if not label:
            return None
        return Option(code if is_int(code) else str(code), label)

    def _item_options(self, item: dict, what: str) -> tuple[Option, ...] | None:
        options = item.get("options")
        if options is None:
            if "options" in item:
                self.error(
                    item, "options", f"{what} has an empty list of options: add at least one."
                )
            return None
        if isinstance(options, str):
            if options not in self.option_sets:
                hint = did_you_mean(options, self.option_sets)
                self.error(
                    item,
                    "options",
                    f'{what} uses the option set "{options}", which is not defined under '
                    f'"option_sets".{hint}',
                )
                return None
            return self.option_sets[options]
        return self._options_list(item, "options", options, what)

    # -- the fields of each type --------------------------------------------------------

    def _kind_fields(self, kind: str, item: dict, what: str, fields: dict) -> dict | None:
        ok = True
        if kind in ("single_choice", "multiple_choice", "likert", "matrix"):
            options = self._item_options(item, what)
            ok = options is not None
            fields["options"] = options or ()
            if options is not None and kind in ("likert", "matrix") and len(options) < 2:
                self.error(
                    item,
                    "options",
                    f"{what} is a Likert scale with {len(options)} point; a scale needs at least "
                    "2 points.",
                )
                ok = False
        if kind in ("likert", "matrix") and "not_applicable" in item:
            option = self._option(
                item,
                "not_applicable",
                item["not_applicable"],
                f'the "not applicable" choice of {what}',
            )
            if option is not None and option.code in {o.code for o in fields["options"]}:
                self.error(
                    item,
                    "not_applicable",
                    f'The "not applicable" code {option.code!r} of {what} is already a point of '
                    "the scale. Give it a code of its own, such as 9.",
                )
                option = None
            ok = ok and option is not None
            fields["not_applicable"] = option
        if kind in ("single_choice", "multiple_choice") and "other" in item:
            other = item["other"]
            if isinstance(other, str) and other.strip():
                option = Option("other", " ".join(other.split()))
            else:
                option = self._option(item, "other", other, f'the "other" choice of {what}')
            if option is not None and option.code in {o.code for o in fields["options"]}:
                self.error(
                    item,
                    "other",
                    f'The "other" code {option.code!r} of {what} is already used by an option.',
                )
                option = None
            ok = ok and option is not None
            fields["other"] = option
        if kind == "multiple_choice" and "max_choices" in item:
            fields["max_choices"] = self._int(item, "max_choices", what, None, 1, 1000)
        if kind == "bipolar":
            fields["left"] = self._text(item, "left", what)
            fields["right"] = self._text(item, "right", what)
            fields["points"] = self._int(item, "points", what, 5, 2, 11) if "points" in item else 5
            positive = item.get("positive", "left")
            if positive not in ("left", "right"):
                self.error(item, "positive", f'"positive" of {what} must be "left" or "right".')
                ok = False
            fields["positive"] = positive
            ok = ok and bool(fields["left"]) and bool(fields["right"])
        if kind == "number":
            ok = self._number_fields(item, what, fields) and ok
        if kind in ("short_text", "long_text"):
            fields["max_length"] = (
                self._int(item, "max_length", what, DEFAULT_MAX_LENGTH[kind], 1, 100_000)
                if "max_length" in item
                else DEFAULT_MAX_LENGTH[kind]
            )
        if kind == "matrix":
            rows = self._rows(item, what)
            ok = ok and rows is not None
            fields["rows"] = rows or ()
        return fields if ok else None

    def _number_fields(self, item: dict, what: str, fields: dict) -> bool:
        ok = True
        for key in ("min", "max"):
            if key in item:
                if not is_number(item[key]):
                    self.error(item, key, f'"{key}" of {what} must be a number, not "{item[key]}".')
                    ok = False
                else:
                    fields[key] = item[key]
        if ok and fields.get("min") is not None and fields.get("max") is not None:
            if fields["min"] > fields["max"]:
                self.error(
                    item,
                    "max",
                    f'"max" of {what} ({fields["max"]}) is smaller than "min" ({fields["min"]}).',
                )
                ok = False
        integer = item.get("integer", True)
        if not isinstance(integer, bool):
            self.error(item, "integer", f'"integer" of {what} must be true or false.')
            ok = False
        fields["integer"] = integer is not False
        fields["unit"] = self._text(item, "unit", what, required=False)
        return ok

    def _rows(self, item: dict, what: str) -> tuple[Row, ...] | None:
        rows = self._list(item, "rows", what) if "rows" in item else None
        if not rows:
            return None
        built = []
        for index, row in enumerate(rows):
            if not self._mapping(row, rows, index, f"row {index + 1} of {what}"):
                continue
            row_id = self._claim(row, f"row {index + 1} of {what}")
            row_what = f'the row "{row_id}"' if row_id else f"row {index + 1} of {what}"
            self._unknown_keys(row, {"id", "text", "origin"}, row_what)
            text = self._text(row, "text", row_what)
            origin = (self._origin(row, row_what) if "origin" in row else None) or (
                item.get("origin") if item.get("origin") in ORIGINS else self.default_origin
            )
            if row_id and text:
                built.append(Row(row_id, text, origin))
                # Rows are answer ids of their own; reserve them at once so ids stay unique.
                self.known[row_id] = Known("matrix_row", (), text)
                self._check_duplicate_text(row, row_id, text)
        return tuple(built) if len(built) == len(rows) else None

    def _remember(self, node: dict, item: Item) -> None:
        if item.type == "matrix":
            codes = tuple(o.code for o in item.all_options())
            self.matrix_rows[item.id] = [row.id for row in item.rows]
            for row in item.rows:
                self.known[row.id] = Known("matrix_row", codes, row.text)
        else:
            codes = tuple(o.code for o in item.all_options())
            self.known[item.id] = Known(item.type, codes, item.text)
            if item.other is not None:
                self.known[item.other_id] = Known("short_text", (), item.text)
            if item.type != "bipolar":
                self._check_duplicate_text(node, item.id, item.text)
            else:
                self._check_duplicate_text(node, item.id, f"{item.left} | {item.right}")

    def _check_duplicate_text(self, node: dict, answer_id: str, text: str) -> None:
        if not text:
            return
        normal = " ".join(text.lower().split())
        if normal in self.texts:
            self.warn(
                node,
                "id",
                f'The item "{answer_id}" has exactly the same wording as "{self.texts[normal]}". '
                "If the source document repeats it on purpose, keep both; otherwise change or "
                "remove one.",
            )
        else:
            self.texts[normal] = answer_id
