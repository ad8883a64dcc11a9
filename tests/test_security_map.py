"""docs/security.md names real tests: a renamed or deleted test fails here, not in an audit."""

import re

from surveyapp import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "security.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
#: A row with no test must say why: it does not apply, it is met by design, or not met yet.
REASONS = ("Does not apply", "Met by design", "Not met yet", "This file", "See below")


def _rows(text: str) -> list[str]:
    return [
        line
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith(("| Requirement", "|---"))
    ]


def test_every_test_the_security_map_names_exists():
    text = DOC.read_text(encoding="utf-8")
    references = REFERENCE.findall(text)
    missing = []
    for path, name in references:
        source = PROJECT_ROOT / path
        if not source.is_file() or not re.search(
            rf"^def {name}\(", source.read_text(encoding="utf-8"), re.MULTILINE
        ):
            missing.append(f"{path}::{name}")

    assert len(references) >= 40
    assert missing == []


def test_every_requirement_has_a_test_or_says_why_not():
    rows = _rows(DOC.read_text(encoding="utf-8"))

    assert len(rows) >= 50
    for row in rows:
        requirement, _what, shown = (cell.strip() for cell in row.strip("|").split("|"))
        assert REFERENCE.search(shown) or shown.startswith(REASONS), requirement


def test_the_map_covers_the_three_chapters_and_single_sign_on():
    text = DOC.read_text(encoding="utf-8")
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")

    for heading in ("## V6 Authentication", "## V7 Session management", "## V8 Authorisation"):
        assert heading in text
    for requirement in ("6.3.1", "6.3.3", "6.5.1", "7.2.4", "7.3.1", "7.4.1", "8.2.1", "8.2.2"):
        assert f"| {requirement} |" in text
    assert "## Single sign-on" in text
    for requirement in ("6.8.1", "10.1.2", "10.5.4", "7.5.3"):
        assert f"| {requirement} |" in text
    assert "(docs/security.md)" in readme
