"""Comparing two versions names what a researcher needs to know changed."""

from surveyapp.questionnaires import check_source
from surveyapp.questionnaires.diff import compare

BASE = """format_version: 1
key: v
title: V
estimated_minutes: 1
source: Tests
pages:
  - id: p
    title: P
    items:
      - id: q1
        type: single_choice
        text: {text}
        options: [{{code: 1, label: Yes}}, {{code: {code}, label: {label}}}]
      - id: {second}
        type: short_text
        text: Other
"""


def _load(text="Do you agree?", code=2, label="No", second="q2"):
    source = BASE.format(text=text, code=code, label=label, second=second)
    return check_source(source.encode(), "v.yaml").questionnaire


def test_identical_versions_have_no_changes():
    assert compare(_load(), _load()) == []


def test_changes_are_named_per_item():
    changes = compare(_load(), _load(text="Do you disagree?", code=3, label="Maybe", second="q3"))

    assert [change.description for change in changes] == [
        'Item "q1" reworded from “Do you agree?” to “Do you disagree?”.',
        'Option codes of "q1" changed: added 3 (Maybe); removed 2 (No).',
        'Item "q3" added: “Other”.',
        'Item "q2" removed: “Other”.',
    ]


def test_relabelled_option_keeps_its_code():
    changes = compare(_load(), _load(label="Not at all"))

    assert [change.kind for change in changes] == ["labels"]
