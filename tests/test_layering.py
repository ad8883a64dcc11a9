"""Domain modules never import Flask: they take a session and the time as arguments."""

import ast
from pathlib import Path

from surveyapp import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "surveyapp"
#: Modules that may import Flask: each area's views and command group, and the web glue.
WEB_SIDE = {"views.py", "cli.py", "forms.py"}  # and any *_views.py beside a views.py
DOMAIN = sorted(
    path
    for path in PACKAGE.rglob("*.py")
    if path.name not in WEB_SIDE
    and not path.name.endswith("_views.py")
    and "web" not in path.relative_to(PACKAGE).parts
    and path not in (PACKAGE / "__init__.py", PACKAGE / "cli.py", PACKAGE / "db.py")
)
AREAS = sorted(path.parent.name for path in PACKAGE.glob("*/views.py"))
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


def test_an_areas_views_import_no_other_areas_views():
    crossing = {}
    for area in AREAS:
        for path in (PACKAGE / area).glob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    parts = node.module.split(".")
                    names = {alias.name for alias in node.names}
                    other = parts[1] if len(parts) > 1 and parts[0] == "surveyapp" else None
                    if (
                        other in AREAS
                        and other != area
                        and (parts[-1] == "views" or "views" in names)
                    ):
                        crossing.setdefault(str(path.relative_to(PROJECT_ROOT)), []).append(
                            node.module
                        )

    assert crossing == {}


def test_every_area_has_its_views_and_templates_beside_them():
    assert AREAS == [
        "account", "audit", "auth", "evaluations", "packs", "people", "privacy", "quality",
        "questionnaires", "reminders", "reports", "respond", "results", "sessions", "staff",
        "waves",
    ]  # fmt: skip
    for area in AREAS:
        assert (PACKAGE / area / "templates" / area).is_dir(), area


def test_no_module_is_over_about_600_lines_but_the_checker_rules():
    long = {
        str(path.relative_to(PROJECT_ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    allowed = {"surveyapp/questionnaires/loader.py"}  # the table of checker rules
    assert {path: n for path, n in long.items() if n > 700 and path not in allowed} == {}


def test_questionnaire_format_needs_only_the_standard_library_and_ruamel():
    allowed = {"ruamel", "surveyapp", "__future__"}
    for path in (PACKAGE / "questionnaires").glob("*.py"):
        if path.name in ("models.py", "catalogue.py", "views.py", "forms.py"):
            continue  # storing versions (SQL), the pages and their forms
        if path.name in ("uploading.py", "comparability.py"):
            continue  # files from the browser: stored as versions, compared with waves (SQL)
        if path.name == "xlsform.py":
            continue  # reads XLSForm workbooks with openpyxl
        third_party = {
            name for name in _imports(path) if name not in allowed and not _is_stdlib(name)
        }
        assert third_party == set(), path.name


def _is_stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names
