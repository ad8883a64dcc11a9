"""Read questionnaire files, report every problem with its place, and build the model.

Flask-free. This is the only module that parses definition files. A file is
read as YAML 1.2 with ruamel.yaml (duplicate keys refused, ``No`` stays text,
line and column kept for every node). Every problem is collected in one pass,
each with file, line, column and a sentence a non-programmer understands;
nothing here raises on a broken file except :func:`load_questionnaire`, which
raises :class:`DefinitionError` listing them all.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from surveyapp.errors import DefinitionError
from surveyapp.questionnaires.item_checks import (
    ORIGINS,
    ItemChecks,
    Known,
)
from surveyapp.questionnaires.item_checks import did_you_mean as _did_you_mean
from surveyapp.questionnaires.item_checks import is_int as _is_int
from surveyapp.questionnaires.model import Item, Option, Page, Questionnaire
from surveyapp.questionnaires.reference_checks import ID, ReferenceChecks

FORMAT_VERSION = 1
MAX_FILE_BYTES = 1_000_000
#: Every item type the format knows. Each layer that handles types covers all of these.
KINDS = (
    "single_choice",
    "multiple_choice",
    "likert",
    "bipolar",
    "number",
    "short_text",
    "long_text",
    "matrix",
)

_HTML = re.compile(r"<\s*/?\s*[A-Za-z][^<>]*>")
_TOO_DEEP = (
    "The file is nested too deeply to read: brackets or indentation go inside one another "
    "hundreds of times. A questionnaire never needs this; check that this is the right file."
)

_TOP_KEYS = {
    "format_version",
    "key",
    "title",
    "description",
    "estimated_minutes",
    "source",
    "origin",
    "option_sets",
    "pages",
    "scales",
}
_TOP_REQUIRED = ("format_version", "key", "title", "estimated_minutes", "source", "pages")
_PAGE_KEYS = {"id", "title", "intro", "show_if", "items"}
_ITEM_COMMON = {"id", "type", "text", "hint", "required", "identifying", "origin", "show_if"}
_ITEM_EXTRA = {
    "single_choice": {"options", "other"},
    "multiple_choice": {"options", "other", "max_choices"},
    "likert": {"options", "not_applicable"},
    "bipolar": {"left", "right", "points", "positive"},
    "number": {"min", "max", "integer", "unit"},
    "short_text": {"max_length"},
    "long_text": {"max_length"},
    "matrix": {"options", "not_applicable", "rows"},
}
# Keys an item type cannot do without, beyond the texts (which report themselves when missing).
_ITEM_REQUIRED = {
    "single_choice": ("options",),
    "multiple_choice": ("options",),
    "likert": ("options",),
    "matrix": ("options", "rows"),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, and where."""

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"  # or "warning": reported, but the file still loads

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        label = "" if self.is_error else "Warning: "
        return f"{self.file}, line {self.line}, column {self.column}: {label}{self.message}"


@dataclass
class LoadResult:
    """What reading one file gave: the questionnaire (None if it has errors) and the problems."""

    path: Path
    questionnaire: Questionnaire | None
    problems: list[Problem]
    text: str = ""
    content_hash: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


@dataclass
class Catalogue:
    """Every file of a folder: the usable questionnaires by key, and every result."""

    results: list[LoadResult] = field(default_factory=list)

    @property
    def questionnaires(self) -> dict[str, Questionnaire]:
        return {r.questionnaire.key: r.questionnaire for r in self.results if r.questionnaire}

    def result(self, key: str) -> LoadResult | None:
        for result in self.results:
            if result.path.stem == key:
                return result
        return None


def load_questionnaire(path: Path) -> Questionnaire:
    """Parse, check and build one questionnaire.

    :raises DefinitionError: listing all problems, not only the first.
    """
    result = load_file(path)
    if result.questionnaire is None:
        raise DefinitionError(path.name, result.errors)
    return result.questionnaire


def load_file(path: Path, display_name: str | None = None) -> LoadResult:
    """Read one file from disk and check it."""
    name = display_name or path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return LoadResult(path, None, [_too_big(name, size)])
        data = path.read_bytes()
    except OSError as exc:
        return LoadResult(path, None, [Problem(name, 1, 1, f"The file cannot be read: {exc}.")])
    return check_source(data, name, path=path)


def load_all(folder: Path) -> Catalogue:
    """Read every ``*.yaml`` file of ``folder`` in name order."""
    return Catalogue([load_file(path) for path in questionnaire_files([folder])])


def questionnaire_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders to their ``*.yaml`` files; keep files as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            found.append(path)
    return found


def check_source(data: bytes, name: str, path: Path | None = None) -> LoadResult:
    """Check the bytes of one file; build the questionnaire when there is no error."""
    path = path or Path(name)
    content_hash = hashlib.sha256(data).hexdigest()
    if len(data) > MAX_FILE_BYTES:
        return LoadResult(path, None, [_too_big(name, len(data))], content_hash=content_hash)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = (
            f"The file is not saved as UTF-8 text: the byte 0x{data[exc.start]:02X} cannot be "
            "read. Save the file again with the encoding UTF-8 in your editor."
        )
        return LoadResult(path, None, [Problem(name, line, column, message)], "", content_hash)
    text = text.removeprefix("\ufeff")
    checker = _Checker(name, Path(name).stem)
    try:
        raw = _yaml().load(text)
    except MarkedYAMLError as exc:
        checker.problems.append(_yaml_problem(name, exc))
        return LoadResult(path, None, checker.problems, text, content_hash)
    except YAMLError as exc:  # unmarked errors are rare, but must not crash the check
        checker.problems.append(Problem(name, 1, 1, f"The file is not valid YAML: {exc}."))
        return LoadResult(path, None, checker.problems, text, content_hash)
    except RecursionError:
        checker.problems.append(Problem(name, 1, 1, _TOO_DEEP))
        return LoadResult(path, None, checker.problems, text, content_hash)
    try:
        questionnaire = checker.check(raw)
    except RecursionError:
        return LoadResult(path, None, [Problem(name, 1, 1, _TOO_DEEP)], text, content_hash)
    problems = sorted(checker.problems, key=lambda p: (p.line, p.column))
    if any(p.is_error for p in problems):
        questionnaire = None
    elif questionnaire is not None:
        questionnaire = _with_hash(questionnaire, content_hash)
    return LoadResult(path, questionnaire, problems, text, content_hash)


def _with_hash(questionnaire: Questionnaire, content_hash: str) -> Questionnaire:
    from dataclasses import replace

    return replace(questionnaire, content_hash=content_hash)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")  # keeps line/column; builds plain data, never Python objects
    yaml.allow_duplicate_keys = False
    return yaml


def _too_big(name: str, size: int) -> Problem:
    return Problem(
        name,
        1,
        1,
        f"The file is {size:,} bytes, over the limit of 1 MB. A questionnaire file is "
        "normally a few kilobytes: check that this is the right file.",
    )


def _yaml_problem(name: str, exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = (exc.problem or "").strip()
    duplicate = re.match(r'found duplicate key "(.*?)"', problem)
    if duplicate:
        first = exc.context_mark.line + 1 if exc.context_mark else None
        where = f" in the block starting at line {first}" if first else ""
        message = (
            f'The key "{duplicate.group(1)}" is written twice{where}. '
            "Keep one of them and delete the other."
        )
    else:
        message = (
            f"The file is not valid YAML here: {problem or exc}. Check the indentation, "
            "and that every quote, bracket and brace that opens also closes."
        )
    return Problem(name, line, column, message)


class _Checker(ItemChecks, ReferenceChecks):
    """One pass over a parsed file: collect problems and build the model.

    The checks of an item's own fields are in ``item_checks`` (its base class).
    """

    def __init__(self, name: str, stem: str) -> None:
        self.name = name
        self.stem = stem
        self.problems: list[Problem] = []
        self.known: dict[str, Known] = {}
        self.page_ids: set[str] = set()
        self.texts: dict[str, str] = {}
        self.option_sets: dict[str, tuple[Option, ...]] = {}
        self.default_origin = "written"
        self.all_ids: set[str] = set()  # every item and row id in the file, to tell "later"
        self.matrix_rows: dict[str, list[str]] = {}
        # Every item and row id met so far, claimed before the rest of its item is checked,
        # so that a repeat is reported even when the first of the two has problems.
        self.claimed: set[str] = set()
        # Ids of items with problems of their own: a scale or a condition naming one says
        # nothing more (the item's own problems are reported where they are).
        self.broken: set[str] = set()

    # -- reporting ---------------------------------------------------------------------

    def _place(self, node: Any, key: Any = None) -> tuple[int, int]:
        lc = getattr(node, "lc", None)
        if lc is None:
            return 1, 1
        try:
            if key is None:
                line, column = lc.line, lc.col
            elif isinstance(node, CommentedSeq):
                line, column = lc.item(key)
            else:
                line, column = lc.key(key)
        except (KeyError, IndexError, TypeError, AttributeError):
            line, column = lc.line, lc.col
        return line + 1, column + 1

    def error(self, node: Any, key: Any, message: str, severity: str = "error") -> None:
        message = message[:1].upper() + message[1:]
        self.problems.append(Problem(self.name, *self._place(node, key), message, severity))

    def warn(self, node: Any, key: Any, message: str) -> None:
        self.error(node, key, message, "warning")

    # -- typed reads -------------------------------------------------------------------

    def _mapping(self, node: Any, parent: Any, key: Any, what: str) -> bool:
        if isinstance(node, dict):
            return True
        self.error(parent, key, f"{what} must be a set of keys and values (key: value).")
        return False

    def _list(self, node: dict, key: str, what: str, required: bool = True) -> list | None:
        value = node.get(key)
        if value is None:
            if required and key not in node:
                self.error(node, None, f'{what} needs "{key}:", a list.')
            elif required:
                self.error(node, key, f'"{key}" of {what} is empty: it needs at least one entry.')
            return None
        if not isinstance(value, list):
            self.error(node, key, f'"{key}" of {what} must be a list (lines starting with "- ").')
            return None
        if required and not value:
            self.error(node, key, f'"{key}" of {what} is empty: it needs at least one entry.')
            return None
        return value

    def _text(self, node: dict, key: str, what: str, required: bool = True) -> str:
        value = node.get(key)
        if value is None:
            if required:
                if key in node:
                    self.error(node, key, f'"{key}" of {what} is empty: write the text.')
                else:
                    self.error(node, None, f'{what} needs "{key}:", a text.')
            return ""
        if not isinstance(value, str):
            self.error(
                node, key, f'"{key}" of {what} must be text; put it in quotes if it is meant so.'
            )
            return ""
        text = " ".join(str(value).split()) if key not in ("intro", "description") else value
        text = str(text).strip()
        if required and not text:
            self.error(node, key, f'"{key}" of {what} is empty: write the text.')
        if _HTML.search(text):
            self.warn(
                node,
                key,
                f'"{key}" of {what} contains what looks like HTML ({_HTML.search(text).group(0)}). '
                "Participants will see it as plain text, not as formatting.",
            )
        return text

    def _int(self, node: dict, key: str, what: str, default: int | None, low: int, high: int):
        value = node.get(key, default)
        if value is None:
            self.error(node, None, f'{what} needs "{key}:", a whole number.')
            return default
        if not _is_int(value):
            self.error(node, key, f'"{key}" of {what} must be a whole number, not "{value}".')
            return default
        if not low <= value <= high:
            self.error(node, key, f'"{key}" of {what} must be between {low} and {high}.')
            return default
        return value

    def _unknown_keys(self, node: dict, allowed: set[str], what: str) -> None:
        for key in node:
            if key not in allowed:
                hint = _did_you_mean(key, allowed)
                known = ", ".join(sorted(allowed))
                self.error(
                    node,
                    key,
                    f'{what} has the key "{key}", which this format does not know.'
                    f"{hint or ' Known keys here: ' + known + '.'}",
                )

    def _new_id(self, node: dict, key: str, what: str) -> str | None:
        value = node.get(key)
        if value is None:
            self.error(node, None, f'{what} needs "id:", such as q1_role.')
            return None
        if not isinstance(value, str) or not ID.match(value):
            self.error(
                node,
                key,
                f'The id "{value}" of {what} cannot be used: write it with lower-case letters, '
                "digits and _, starting with a letter, such as q1_role.",
            )
            return None
        if value in self.known or value in self.page_ids or value in self.claimed:
            self.error(node, key, f'The id "{value}" is used twice. Every id must be unique.')
            return None
        return value

    def _claim(self, node: dict, what: str) -> str | None:
        """Check an item's or a row's id and claim it at once (``claimed``)."""
        value = self._new_id(node, "id", what)
        if value is not None:
            self.claimed.add(value)
        return value

    # -- the questionnaire -------------------------------------------------------------

    def check(self, raw: Any) -> Questionnaire | None:
        if not isinstance(raw, dict):
            self.problems.append(
                Problem(
                    self.name,
                    1,
                    1,
                    "The file must be a questionnaire: keys such as format_version, key, title "
                    "and pages, each at the start of a line. It is empty or holds something else.",
                )
            )
            return None
        self._unknown_keys(raw, _TOP_KEYS, "the questionnaire")
        for key in _TOP_REQUIRED:
            if key not in raw:
                self.error(raw, None, f'The questionnaire needs "{key}:".')
        version = raw.get("format_version")
        if "format_version" in raw and version != FORMAT_VERSION:
            self.error(
                raw,
                "format_version",
                f'"format_version" must be {FORMAT_VERSION}; this app does not know version '
                f'"{version}".',
            )
        key = raw.get("key")
        if "key" in raw:
            if not isinstance(key, str) or not ID.match(key):
                self.error(
                    raw,
                    "key",
                    'The "key" must be lower-case letters, digits and _ , such as '
                    "peer_support_baseline.",
                )
            elif key != self.stem:
                self.error(
                    raw,
                    "key",
                    f'The key "{key}" must be the same as the file name "{self.stem}": rename '
                    "the file or change the key.",
                )
        title = self._text(raw, "title", "the questionnaire") if "title" in raw else ""
        description = self._text(raw, "description", "the questionnaire", required=False)
        source = self._text(raw, "source", "the questionnaire") if "source" in raw else ""
        minutes = (
            self._int(raw, "estimated_minutes", "the questionnaire", 1, 1, 240)
            if "estimated_minutes" in raw
            else 1
        )
        if "origin" in raw:
            self.default_origin = self._origin(raw, "the questionnaire") or "written"
        self._option_sets(raw)
        self.all_ids = _all_ids(raw)
        pages = self._pages(raw) if "pages" in raw else ()
        scales = self._scales(raw)
        if not pages:
            return None
        return Questionnaire(
            key=key if isinstance(key, str) else self.stem,
            title=title,
            description=description,
            estimated_minutes=minutes,
            source=source,
            pages=pages,
            scales=scales,
        )

    def _origin(self, node: dict, what: str) -> str | None:
        origin = node.get("origin")
        if origin not in ORIGINS:
            self.error(
                node,
                "origin",
                f'"origin" of {what} must be "quoted" (wording from the source document) or '
                f'"written" (written for the product), not "{origin}".',
            )
            return None
        return origin

    # -- pages and items ---------------------------------------------------------------

    def _pages(self, raw: dict) -> tuple[Page, ...]:
        pages = self._list(raw, "pages", "the questionnaire")
        if not pages:
            return ()
        built = []
        for index, page in enumerate(pages):
            if not self._mapping(page, pages, index, f"page {index + 1}"):
                continue
            page_id = self._new_id(page, "id", f"page {index + 1}")
            what = f'the page "{page_id}"' if page_id else f"page {index + 1}"
            self._unknown_keys(page, _PAGE_KEYS, what)
            title = self._text(page, "title", what)
            intro = self._text(page, "intro", what, required=False)
            show_if = self._condition(page, "show_if", what) if "show_if" in page else None
            if page_id:
                self.page_ids.add(page_id)
            items = self._list(page, "items", what)
            built_items = [self._item(items, i, item) for i, item in enumerate(items or [])]
            if items and all(built_items) and page_id:
                built.append(
                    Page(page_id, title, tuple(built_items), intro, show_if, self._place(page)[0])
                )
        return tuple(built) if len(built) == len(pages) else ()

    def _item(self, items: list, index: int, item: Any) -> Item | None:
        if not self._mapping(item, items, index, f"item {index + 1} of this page"):
            return None
        item_id = self._claim(item, "an item")
        given = item.get("id")
        # A repeated id still names the item it belongs to in the messages that follow.
        named = item_id or (given if isinstance(given, str) and ID.match(given) else None)
        what = f'the item "{named}"' if named else "an item"
        kind = item.get("type")
        known_kind = kind in KINDS
        if not known_kind:
            if "type" not in item:
                self.error(item, None, f'{what} needs "type:", one of: {", ".join(KINDS)}.')
            else:
                self.error(
                    item,
                    "type",
                    f'{what} has the type "{kind}", which this format does not know.'
                    f"{_did_you_mean(kind, KINDS) or ' Use one of: ' + ', '.join(KINDS) + '.'}",
                )
        # Every other problem of the item is reported too, whatever its type.
        extra = _ITEM_EXTRA[kind] if known_kind else set().union(*_ITEM_EXTRA.values())
        self._unknown_keys(item, _ITEM_COMMON | extra, what)
        for key in _ITEM_REQUIRED.get(kind, ()) if known_kind else ():
            if key not in item:
                self.error(item, None, f'{what} ({kind}) needs "{key}:".')
        # Conditions look back: check before this item's own ids are known.
        show_if = self._condition(item, "show_if", what) if "show_if" in item else None
        text = self._text(item, "text", what, required=kind != "bipolar")
        fields: dict[str, Any] = {
            "hint": self._text(item, "hint", what, required=False),
            "origin": (self._origin(item, what) if "origin" in item else None)
            or self.default_origin,
        }
        required = item.get("required", True)
        if not isinstance(required, bool):
            self.error(item, "required", f'"required" of {what} must be true or false.')
        fields["required"] = required is not False
        identifying = item.get("identifying", False)
        if not isinstance(identifying, bool):
            self.error(item, "identifying", f'"identifying" of {what} must be true or false.')
        fields["identifying"] = identifying is True
        built = self._kind_fields(kind, item, what, fields) if known_kind else None
        if item_id is None or built is None:
            if named:
                self.broken.add(named)
            return None
        made = Item(id=item_id, type=kind, text=text, show_if=show_if, **fields)
        self._remember(item, made)
        return made


def _all_ids(raw: dict) -> set[str]:
    """Collect every item and row id, so a condition can tell "later" from "unknown"."""
    ids: set[str] = set()
    pages = raw.get("pages")
    for page in pages if isinstance(pages, list) else []:
        items = page.get("items") if isinstance(page, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("id"), str):
                ids.add(item["id"])
            rows = item.get("rows")
            for row in rows if isinstance(rows, list) else []:
                if isinstance(row, dict) and isinstance(row.get("id"), str):
                    ids.add(row["id"])
    return ids
