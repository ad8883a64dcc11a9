"""The analysis areas (scoring, exports, data quality) stay free of the web framework: they
take the session as an argument. pandas stays inside them, off the participant's pages."""

import ast
from pathlib import Path

import pytest

from surveyapp import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "surveyapp"
ANALYSIS = ("scoring", "exports", "quality")
MODULES = [
    path
    for area in ANALYSIS
    for path in sorted((PACKAGE / area).glob("*.py"))
    if path.name != "views.py"
]
WEB = {"flask", "flask_wtf", "werkzeug", "wtforms"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_module_does_not_import_the_web_framework(path):
    assert _imports(path) & WEB == set()


def test_only_the_analysis_areas_import_pandas():
    others = [
        path
        for path in PACKAGE.rglob("*.py")
        if path.parent.name not in ANALYSIS and "pandas" in _imports(path)
    ]

    assert others == []
