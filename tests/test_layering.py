"""Domain modules never import Flask: they take a session and the time as arguments."""

import ast
from pathlib import Path

from surveyapp import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "surveyapp"
DOMAIN = [
    *sorted((PACKAGE / "questionnaires").glob("*.py")),
    *sorted((PACKAGE / "participants").glob("*.py")),
    PACKAGE / "respond" / "flow.py",
    PACKAGE / "timezones.py",
    PACKAGE / "catalogue.py",
    PACKAGE / "dashboard.py",
    PACKAGE / "results.py",
    PACKAGE / "demo.py",
    PACKAGE / "mail.py",
    *sorted((PACKAGE / "reminders").glob("*.py")),
    PACKAGE / "accounts.py",
    PACKAGE / "access.py",
    PACKAGE / "audit.py",
    PACKAGE / "privacy.py",
    PACKAGE / "csvtext.py",
    *sorted((PACKAGE / "scoring").glob("*.py")),
    *sorted((PACKAGE / "exports").glob("*.py")),
    PACKAGE / "models.py",
    PACKAGE / "errors.py",
    PACKAGE / "clock.py",
]
WEB = ("flask", "flask_wtf", "werkzeug", "wtforms")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_domain_modules_do_not_import_the_web_framework():
    offenders = {str(path.relative_to(PROJECT_ROOT)): _imports(path) & set(WEB) for path in DOMAIN}

    assert {path: names for path, names in offenders.items() if names} == {}


def test_questionnaire_package_needs_only_the_standard_library_and_ruamel():
    allowed = {"ruamel", "surveyapp", "__future__"}
    for path in (PACKAGE / "questionnaires").glob("*.py"):
        third_party = {
            name for name in _imports(path) if name not in allowed and not _is_stdlib(name)
        }
        assert third_party == set(), path.name


def _is_stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names
