"""Domain exceptions. Views and commands translate them; domain code never aborts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SurveyError(Exception):
    """Base of every error the domain raises on purpose."""


class ConfigError(SurveyError):
    """The configuration cannot work; the message names the setting."""


class DefinitionError(SurveyError):
    """A questionnaire file has errors; ``problems`` lists every one."""

    def __init__(self, name: str, problems: Sequence[Any]) -> None:
        self.name = name
        self.problems = list(problems)
        lines = "\n".join(str(problem) for problem in self.problems)
        super().__init__(f"{name} has {len(self.problems)} problem(s):\n{lines}")


class StoredMeanwhile(SurveyError):
    """Someone stored the same kind of record at the same moment; nothing was stored."""
