"""Questionnaire files that reach the product through the browser: uploaded or typed in
the editor (Flask-free).

The file format, its schema and its checker are those of the questionnaire folder
(``loader.check_source``): a file is checked exactly as ``flask questionnaires check``
checks it, each problem is shown with the line of the file it is on, and only a file
with no error is stored, as a new version of its questionnaire with the "what changed"
summary of the folder's files. The caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from sqlalchemy.orm import Session

from surveyapp.models import QuestionnaireVersion, User
from surveyapp.questionnaires import catalogue
from surveyapp.questionnaires.comparability import AffectedWave, affected_waves
from surveyapp.questionnaires.diff import Change, compare
from surveyapp.questionnaires.loader import _TOO_DEEP as TOO_DEEP
from surveyapp.questionnaires.loader import Catalogue, LoadResult, Problem, check_source
from surveyapp.questionnaires.model import Page, Questionnaire

#: The most files one upload may carry.
MAX_FILES = 20
SUFFIXES = (".yaml", ".yml")
#: Brackets inside brackets beyond this are refused before the checker reads the file (a
#: questionnaire nests a few levels; thousands make YAML recurse for seconds).
MAX_BRACKET_DEPTH = 200
#: A quoted line is cut to this many characters.
QUOTE_LIMIT = 200


@dataclass(frozen=True)
class Finding:
    """One problem the checker found, with the line of the file it points at."""

    problem: Problem
    quoted: str

    def __str__(self) -> str:
        return str(self.problem)


@dataclass
class CheckedFile:
    """One file as checked: its findings, and against the newest stored version what a new
    version would change and which waves' answers it would stop comparing."""

    name: str
    result: LoadResult
    findings: list[Finding]
    current: QuestionnaireVersion | None = None
    changes: list[Change] = field(default_factory=list)
    affected: list[AffectedWave] = field(default_factory=list)

    @property
    def questionnaire(self) -> Questionnaire | None:
        return self.result.questionnaire

    @property
    def errors(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.problem.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.problem.is_error]

    @property
    def is_unchanged(self) -> bool:
        """Its text is exactly the newest stored version's: storing it makes no version."""
        return self.current is not None and self.current.content_hash == self.result.content_hash

    @property
    def can_store(self) -> bool:
        return self.questionnaire is not None and not self.is_unchanged

    @property
    def affected_answers(self) -> int:
        return sum(wave.answers for wave in self.affected)


def file_name(name: str) -> str:
    """The name of an uploaded file without any folder a browser sent with it."""
    return PurePosixPath((name or "").replace("\\", "/")).name[:200] or "unnamed file"


def check_file(session: Session, name: str, data: bytes) -> CheckedFile:
    """Check one file's bytes as the command does, and compare it with its stored versions."""
    name = file_name(name)
    if not name.lower().endswith(SUFFIXES):
        suffix = PurePosixPath(name).suffix or "no ending"
        problem = Problem(
            name,
            1,
            1,
            "Only questionnaire files can be uploaded: their names end in .yaml. This file's "
            f"name ends in {suffix}.",
        )
        return CheckedFile(
            name, LoadResult(PurePosixPath(name), None, [problem]), [Finding(problem, "")]
        )
    if _bracket_depth(data) > MAX_BRACKET_DEPTH:
        # The checker would say the same, but only after seconds of recursion; a person
        # waiting on the page is told at once.
        problem = Problem(name, 1, 1, TOO_DEEP)
        return CheckedFile(
            name, LoadResult(PurePosixPath(name), None, [problem]), [Finding(problem, "")]
        )
    result = check_source(data, name)
    lines = data.decode("utf-8", errors="replace").removeprefix("\ufeff").splitlines()
    findings = [Finding(problem, _quote(lines, problem.line)) for problem in result.problems]
    checked = CheckedFile(name, result, findings)
    questionnaire = result.questionnaire
    if questionnaire is not None:
        checked.current = catalogue.latest_versions(session).get(questionnaire.key)
        if checked.current is not None and not checked.is_unchanged:
            checked.changes = compare(catalogue.questionnaire_of(checked.current), questionnaire)
        if not checked.is_unchanged:
            checked.affected = affected_waves(session, questionnaire)
    return checked


def check_files(session: Session, files: list[tuple[str, bytes]]) -> list[CheckedFile]:
    """Check several files; two that hold the same questionnaire are both refused."""
    checked = [check_file(session, name, data) for name, data in files]
    keys = [item.questionnaire.key for item in checked if item.questionnaire is not None]
    for item in checked:
        if item.questionnaire is not None and keys.count(item.questionnaire.key) > 1:
            problem = Problem(
                item.name,
                1,
                1,
                f'Another file of this upload also holds the questionnaire "'
                f'{item.questionnaire.key}". Upload one version of a questionnaire at a time.',
            )
            item.result = LoadResult(
                item.result.path,
                None,
                [*item.result.problems, problem],
                item.result.text,
                item.result.content_hash,
            )
            item.findings = [*item.findings, Finding(problem, "")]
    return checked


def store_checked(
    session: Session, checked: list[CheckedFile], *, now: datetime, user: User | None
) -> list[catalogue.Stored]:
    """Store a new version of every checked file that has no error and is not stored yet."""
    usable = Catalogue([item.result for item in checked if item.can_store])
    return [stored for stored in catalogue.store_versions(session, usable, now=now, user=user)]


def page_at(questionnaire: Questionnaire, line: int | None) -> Page:
    """The page of the file that ``line`` is in (the first page before any)."""
    found = questionnaire.pages[0]
    for page in questionnaire.pages:
        if line is not None and page.line and page.line <= line:
            found = page
    return found


def _quote(lines: list[str], line: int) -> str:
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1][:QUOTE_LIMIT]
    return "".join(c if c.isprintable() or c == "\t" else "\ufffd" for c in text)


def _bracket_depth(data: bytes) -> int:
    """How deep ``[`` and ``{`` go inside one another (quotes not told apart: an
    overestimate, which only a file far past any questionnaire's depth reaches)."""
    depth = deepest = 0
    for byte in data.translate(None, _NOT_BRACKETS):
        if byte in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


_OPENING = b"[{"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
