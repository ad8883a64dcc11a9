"""What changed between two versions of a questionnaire (Flask-free).

Items are matched by id, because the same id means the same question across
versions and waves. Matrix rows are compared like items.
"""

from __future__ import annotations

from dataclasses import dataclass

from surveyapp.questionnaires.model import Option, Questionnaire


@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, relabelled, retyped, codes, labels, page_added, page_removed
    subject: str  # the item, row or page id
    description: str


def compare(old: Questionnaire, new: Questionnaire) -> list[Change]:
    """List the changes from ``old`` to ``new``, in the order of ``new`` then removals."""
    changes: list[Change] = []
    old_pages = {page.id for page in old.pages}
    new_pages = {page.id for page in new.pages}
    for page in new.pages:
        if page.id not in old_pages:
            changes.append(Change("page_added", page.id, f'Page "{page.title}" added.'))
    for page in old.pages:
        if page.id not in new_pages:
            changes.append(Change("page_removed", page.id, f'Page "{page.title}" removed.'))

    old_units = dict(_units(old))
    new_units = dict(_units(new))
    for answer_id, (item, text, options) in new_units.items():
        if answer_id not in old_units:
            changes.append(Change("added", answer_id, f'Item "{answer_id}" added: “{text}”.'))
            continue
        old_item, old_text, old_options = old_units[answer_id]
        if old_item.type != item.type:
            changes.append(
                Change(
                    "retyped",
                    answer_id,
                    f'Item "{answer_id}" changed type from {old_item.type} to {item.type}.',
                )
            )
        if old_text != text:
            changes.append(
                Change(
                    "relabelled",
                    answer_id,
                    f'Item "{answer_id}" reworded from “{old_text}” to “{text}”.',
                )
            )
        changes.extend(_option_changes(answer_id, old_options, options))
    for answer_id, (_item, text, _options) in old_units.items():
        if answer_id not in new_units:
            changes.append(Change("removed", answer_id, f'Item "{answer_id}" removed: “{text}”.'))
    return changes


def _units(questionnaire: Questionnaire):
    """Yield (answer id, (item, wording, options)) for items and matrix rows."""
    for item in questionnaire.items():
        if item.type == "matrix":
            for row in item.rows:
                yield row.id, (item, row.text, item.all_options())
        elif item.type == "bipolar":
            yield item.id, (item, f"{item.left} | {item.right}", item.all_options())
        else:
            yield item.id, (item, item.text, item.all_options())


def _option_changes(
    answer_id: str, old: tuple[Option, ...], new: tuple[Option, ...]
) -> list[Change]:
    old_labels = {option.code: option.label for option in old}
    new_labels = {option.code: option.label for option in new}
    changes = []
    added = [code for code in new_labels if code not in old_labels]
    removed = [code for code in old_labels if code not in new_labels]
    if added or removed:
        parts = []
        if added:
            parts.append("added " + ", ".join(f"{c} ({new_labels[c]})" for c in added))
        if removed:
            parts.append("removed " + ", ".join(f"{c} ({old_labels[c]})" for c in removed))
        changes.append(
            Change(
                "codes", answer_id, f'Option codes of "{answer_id}" changed: {"; ".join(parts)}.'
            )
        )
    for code, label in new_labels.items():
        if code in old_labels and old_labels[code] != label:
            changes.append(
                Change(
                    "labels",
                    answer_id,
                    f'Option {code} of "{answer_id}" relabelled from “{old_labels[code]}” to '
                    f"“{label}”.",
                )
            )
    return changes
