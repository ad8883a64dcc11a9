"""The instruments shipped in questionnaires/ load, follow the schema and stay faithful."""

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from surveyapp import PROJECT_ROOT
from surveyapp.questionnaires import load_file

FOLDER = PROJECT_ROOT / "questionnaires"
FILES = sorted(FOLDER.glob("*.yaml"))
SCHEMA = json.loads((PROJECT_ROOT / "surveyapp" / "questionnaires" / "schema.json").read_text())


def test_all_instruments_are_shipped():
    assert {path.stem for path in FILES} >= {
        "peer_support_baseline",
        "peer_support_midterm",
        "peer_support_endpoint",
        "leadership_culture",
        "als_member_evaluation",
        "mentor_evaluation",
        "session_evaluation",
    }


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_shipped_file_loads_without_error(path: Path):
    result = load_file(path)

    assert result.errors == []
    assert result.questionnaire is not None


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_shipped_file_follows_the_published_schema(path: Path):
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))

    jsonschema.validate(data, SCHEMA)


def test_schema_rejects_an_unknown_item_type():
    data = YAML(typ="safe").load((FOLDER / "session_evaluation.yaml").read_text(encoding="utf-8"))
    data["pages"][0]["items"][0]["type"] = "slider"

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_culture_survey_has_32_bipolar_items_positive_on_the_left():
    culture = load_file(FOLDER / "leadership_culture.yaml").questionnaire
    bipolar = [item for item in culture.items() if item.type == "bipolar"]

    assert len(bipolar) == 32
    assert all(item.positive == "left" and item.origin == "quoted" for item in bipolar)
    assert bipolar[0].left.startswith("Leaders")


def test_culture_survey_keeps_the_duplicated_item_and_warns_about_it():
    result = load_file(FOLDER / "leadership_culture.yaml")
    third, twenty_ninth = (
        result.questionnaire.item("culture_03"),
        result.questionnaire.item("culture_29"),
    )

    assert (third.left, third.right) == (twenty_ninth.left, twenty_ninth.right)
    assert [problem.message for problem in result.warnings] == [
        'The item "culture_29" has exactly the same wording as "culture_03". If the source '
        "document repeats it on purpose, keep both; otherwise change or remove one."
    ]


def _part_d(key):
    questionnaire = load_file(FOLDER / f"{key}.yaml").questionnaire
    page = questionnaire.page("part_d")
    return page


def test_part_d_is_the_same_at_every_wave():
    baseline = _part_d("peer_support_baseline")

    assert _part_d("peer_support_midterm") == baseline
    assert _part_d("peer_support_endpoint") == baseline


def test_items_repeated_across_waves_keep_their_wording():
    waves = [
        load_file(FOLDER / f"peer_support_{w}.yaml").questionnaire
        for w in ("baseline", "midterm", "endpoint")
    ]
    by_id = [{item.id: item for item in wave.items()} for wave in waves]

    shared = set(by_id[0]) & set(by_id[1]) & set(by_id[2])

    assert {"role", "region", "motivation"} <= shared
    for item_id in shared:
        assert by_id[0][item_id].text == by_id[1][item_id].text == by_id[2][item_id].text
        assert by_id[0][item_id].options == by_id[2][item_id].options
