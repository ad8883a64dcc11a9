"""The checks that look across a file: conditions (``show_if``) and scales.

Flask-free; the standard library only. A mixin of ``loader._Checker``, as
``item_checks`` is: these methods report through it (``error``), read through
its typed helpers (``_text``, ``_list``, ``_mapping``, ``_unknown_keys``) and
look items up in what it has built so far (``known``, ``matrix_rows``,
``all_ids``, ``broken``).
"""

from __future__ import annotations

import re
from typing import Any

from surveyapp.questionnaires.item_checks import did_you_mean, is_int
from surveyapp.questionnaires.model import (
    REVERSIBLE_TYPES,
    SCORABLE_TYPES,
    AllOf,
    Answered,
    AnyOf,
    Condition,
    Equals,
    Not,
    OneOf,
    Scale,
)

ID = re.compile(r"^[a-z][a-z0-9_]*$")
SCALE_KEYS = {"id", "label", "items", "reverse", "method", "min_answered"}
CONDITION_FORMS = (
    "{item: ID, equals: CODE}, {item: ID, one_of: [CODES]}, {item: ID, answered: true}, "
    "{not: CONDITION}, {all_of: [CONDITIONS]} or {any_of: [CONDITIONS]}"
)


class ReferenceChecks:
    """Conditions and scales, checked against the items the file defines."""

    # -- conditions --------------------------------------------------------------------

    def _condition(self, parent: Any, key: Any, what: str) -> Condition | None:
        node = parent[key]
        if not isinstance(node, dict) or not node:
            self.error(parent, key, f"The condition of {what} must be one of: {CONDITION_FORMS}.")
            return None
        if "not" in node:
            self._only(node, {"not"}, what)
            inner = self._condition(node, "not", what)
            return Not(inner) if inner else None
        for name, combine in (("all_of", AllOf), ("any_of", AnyOf)):
            if name in node:
                self._only(node, {name}, what)
                parts = node[name]
                if not isinstance(parts, list) or not parts:
                    self.error(node, name, f'"{name}" in the condition of {what} needs a list.')
                    return None
                built = [self._condition(parts, i, what) for i in range(len(parts))]
                return combine(tuple(built)) if all(built) else None
        if "item" not in node:
            self.error(parent, key, f"The condition of {what} must be one of: {CONDITION_FORMS}.")
            return None
        operators = [k for k in ("equals", "one_of", "answered") if k in node]
        if len(operators) != 1:
            self.error(
                parent,
                key,
                f'The condition of {what} needs exactly one of "equals", "one_of" or "answered" '
                f"beside item. Forms: {CONDITION_FORMS}.",
            )
            return None
        self._only(node, {"item", operators[0]}, what)
        target = node["item"]
        known = self.known.get(target) if isinstance(target, str) else None
        if known is None and target in self.broken:
            return None  # the item's own problems are reported; this condition waits on them
        if known is None:
            if target in self.all_ids:
                reason = (
                    f"which comes later in the questionnaire. A condition can only look back at "
                    f'earlier answers: move "{target}" before it, or change the condition.'
                )
            else:
                hint = did_you_mean(target, self.all_ids)
                reason = f"which is not an item of this questionnaire.{hint}"
            self.error(node, "item", f'The condition of {what} looks at "{target}", {reason}')
            return None
        operator = operators[0]
        if operator == "answered":
            value = node["answered"]
            if not isinstance(value, bool):
                self.error(
                    node,
                    "answered",
                    f'"answered" in the condition of {what} must be true or false.',
                )
                return None
            return Answered(target, value)
        values = node[operator]
        if operator == "one_of":
            if not isinstance(values, list) or not values:
                self.error(
                    node,
                    "one_of",
                    f'"one_of" in the condition of {what} needs a list of codes, such as [1, 2].',
                )
                return None
        checked = values if operator == "one_of" else [values]
        for value in checked:
            if known.codes and value not in known.codes:
                codes = ", ".join(str(c) for c in known.codes)
                self.error(
                    node,
                    operator,
                    f'The condition of {what} asks whether "{target}" is {value!r}, but that is '
                    f"not one of its codes ({codes}), so it could never hold.",
                )
                return None
        if operator == "equals":
            return Equals(target, values)
        return OneOf(target, tuple(values))

    def _only(self, node: dict, allowed: set[str], what: str) -> None:
        for key in node:
            if key not in allowed:
                self.error(
                    node,
                    key,
                    f'The condition of {what} has the key "{key}" where it does not '
                    f"belong. Forms: {CONDITION_FORMS}.",
                )

    # -- scales ------------------------------------------------------------------------

    def _scales(self, raw: dict) -> tuple[Scale, ...]:
        scales = self._list(raw, "scales", "the questionnaire", required=False)
        if not scales:
            return ()
        built = []
        seen: set[str] = set()
        for index, scale in enumerate(scales):
            if not self._mapping(scale, scales, index, f"scale {index + 1}"):
                continue
            scale_id = scale.get("id")
            what = f'the scale "{scale_id}"' if scale_id else f"scale {index + 1}"
            self._unknown_keys(scale, SCALE_KEYS, what)
            if not isinstance(scale_id, str) or not ID.match(scale_id):
                self.error(
                    scale,
                    "id" if "id" in scale else None,
                    f"{what} needs an id: lower-case letters, digits and _.",
                )
                continue
            if scale_id in seen:
                self.error(scale, "id", f'The scale id "{scale_id}" is used twice.')
                continue
            seen.add(scale_id)
            label = self._text(scale, "label", what)
            items = self._scale_items(scale, what)
            reverse = self._scale_reverse(scale, what, items or ())
            method = scale.get("method", "mean")
            if method not in ("mean", "sum"):
                self.error(scale, "method", f'"method" of {what} must be "mean" or "sum".')
                continue
            if items is None or reverse is None:
                continue
            least = scale.get("min_answered", len(items))
            if not is_int(least) or not 1 <= least <= len(items):
                self.error(
                    scale,
                    "min_answered",
                    f'"min_answered" of {what} is {least}, but it must be a whole number from 1 '
                    f"to the number of its items ({len(items)}).",
                )
                continue
            built.append(Scale(scale_id, label, items, reverse, method, least))
        return tuple(built)

    def _scale_items(self, scale: dict, what: str) -> tuple[str, ...] | None:
        items = self._list(scale, "items", what)
        if not items:
            return None
        ids: list[str] = []
        ok = True
        for index, item_id in enumerate(items):
            known = self.known.get(item_id) if isinstance(item_id, str) else None
            if known is None and item_id in self.broken:
                ok = False  # the item's own problems are reported; the scale waits on them
            elif known is None:
                matrix = self._matrix_rows(item_id)
                if matrix:
                    ids.extend(matrix)
                    continue
                self.error(
                    items,
                    index,
                    f'{what} names "{item_id}", which is not an item of this questionnaire.'
                    f"{did_you_mean(item_id, self.known)}",
                )
                ok = False
            elif known.type not in SCORABLE_TYPES and known.type != "matrix_row":
                self.error(
                    items,
                    index,
                    f'{what} names "{item_id}", a {known.type} item. Only Likert, bipolar and '
                    "number items and matrix rows can be scored.",
                )
                ok = False
            elif item_id in ids:
                self.error(items, index, f'{what} names "{item_id}" twice.')
                ok = False
            else:
                ids.append(item_id)
        return tuple(ids) if ok else None

    def _matrix_rows(self, item_id: Any) -> list[str]:
        # A matrix id in a scale stands for all of its rows.
        return list(self.matrix_rows.get(item_id, [])) if isinstance(item_id, str) else []

    def _scale_reverse(self, scale: dict, what: str, items: tuple[str, ...]):
        reverse = self._list(scale, "reverse", what, required=False)
        if reverse is None:
            return () if scale.get("reverse") is None else None
        ok = True
        for index, item_id in enumerate(reverse):
            known = self.known.get(item_id) if isinstance(item_id, str) else None
            if item_id not in items:
                self.error(
                    reverse,
                    index,
                    f'{what} reverse-codes "{item_id}", which is not one of its '
                    "items. List it under items too.",
                )
                ok = False
            elif known is not None and known.type not in REVERSIBLE_TYPES | {"matrix_row"}:
                self.error(
                    reverse,
                    index,
                    f'{what} reverse-codes "{item_id}", a {known.type} item. Only Likert and '
                    "bipolar items and matrix rows have points that can be reversed.",
                )
                ok = False
        return tuple(reverse) if ok else None
