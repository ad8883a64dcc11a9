"""Every POST route has a browser test that fills its form and submits it.

A browser test names the URL rules it submits with ``@pytest.mark.posts(...)``; a new
form cannot land without one (a form that passes every view test can still be one no
browser can fill: the audience boxes of Create a wave were ``<option>`` tags once).
"""

import ast
from pathlib import Path

from surveyapp import create_app

BROWSER_TESTS = Path(__file__).parent / "browser"


def _named_rules() -> dict[str, set[str]]:
    """URL rule -> the browser test files whose ``posts`` markers name it."""
    named: dict[str, set[str]] = {}
    for path in sorted(BROWSER_TESTS.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "posts"
            ):
                for argument in node.args:
                    named.setdefault(argument.value, set()).add(path.name)
    return named


def _post_rules() -> set[str]:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    return {rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods}


def test_every_post_route_is_submitted_by_a_browser_test():
    named = _named_rules()

    assert sorted(_post_rules() - set(named)) == []


def test_browser_tests_name_only_routes_that_exist():
    assert sorted(set(_named_rules()) - _post_rules()) == []
