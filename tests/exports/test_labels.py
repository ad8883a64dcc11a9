"""Labels in the codebook and the .sav file: prorated sums said so, long labels cut visibly."""

import io

import pandas as pd
import pyreadstat

from surveyapp.exports import export_wave, wave_tables
from surveyapp.exports.codebook import sav_label
from tests.factories import make_wave
from tests.scoring.builders import SCORING_YAML, cohort, store_questionnaire, submit_all, wave_of

PRORATED = (
    "prorated sum of 4 items: the mean of the answered items × 4 when some are missing; "
    "at least 3 answered, 1 reverse-coded"
)


def _read_sav(content: bytes, tmp_path):
    path = tmp_path / "wave.sav"
    path.write_bytes(content)
    return pyreadstat.read_sav(str(path))[1]


def _scoring_wave(session, text=SCORING_YAML):
    programme = cohort(session, {"North": 3})[0].programme
    wave = wave_of(session, programme, store_questionnaire(session, text), label="Baseline")
    # One person skips q4: their prorated sum is the mean of three answers × 4.
    submit_all(session, wave, lambda person: {"q1": 4, "q2": 2, "q3": 3})
    session.commit()
    return wave


def test_a_sum_that_allows_missing_items_is_called_a_prorated_sum(session, tmp_path):
    wave = _scoring_wave(session)
    tables = wave_tables(session, wave, for_evaluator=False)
    book = tables.codebook.set_index("variable")

    meta = _read_sav(
        export_wave(session, wave, file_format="sav", for_evaluator=False).content, tmp_path
    )

    assert book.at["agree_sum", "label"] == f"Agreement (sum) (score: {PRORATED})"
    assert meta.column_names_to_labels["agree_sum"] == f"Agreement (sum) (score: {PRORATED})"
    # A sum that needs every item is a plain sum.
    assert book.at["agree_sum_all", "label"] == (
        "Agreement (sum of all four) (score: sum of 4 items, at least 4 answered)"
    )
    # (4 + 2 + (6 - 3)) / 3 × 4 = 12: the score the label describes.
    assert tables.data["agree_sum"].tolist() == [12.0] * 3


def test_a_long_scale_label_is_cut_in_the_sav_before_the_prorated_explanation(session, tmp_path):
    name = "How confident people feel about every part of their work " * 5
    text = SCORING_YAML.replace("label: Agreement (sum), ", f"label: {name.strip()}, ")
    wave = _scoring_wave(session, text)
    book = wave_tables(session, wave, for_evaluator=False).codebook.set_index("variable")

    meta = _read_sav(
        export_wave(session, wave, file_format="sav", for_evaluator=False).content, tmp_path
    )

    whole = f"{name.strip()} (score: {PRORATED})"
    held = meta.column_names_to_labels["agree_sum"]
    assert book.at["agree_sum", "label"] == whole
    assert len(held.encode()) <= 255
    assert held.endswith(f"… (score: {PRORATED})")
    assert whole.startswith(held.split("…")[0])
    assert "cut to SPSS's limit of 255 bytes" in book.at["agree_sum", "notes"]
    assert book.at["agree_mean", "notes"] == ""


def test_a_culture_value_label_over_120_bytes_is_whole_in_the_codebook_and_marked_cut_in_the_sav(
    session, tmp_path
):
    wave = make_wave(session, key="leadership_culture")
    session.commit()
    variables = {v.name: v for v in wave_tables(session, wave, for_evaluator=False).variables}
    whole = variables["culture_28"].value_labels[1]

    csv = export_wave(
        session, wave, file_format="csv", layout="codebook", for_evaluator=False
    ).content
    book = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig").set_index("variable")
    meta = _read_sav(
        export_wave(session, wave, file_format="sav", for_evaluator=False).content, tmp_path
    )

    assert len(whole.encode()) > 120
    assert f"1 = {whole};" in book.at["culture_28", "value_labels"]
    held = meta.variable_value_labels["culture_28"][1.0]
    assert len(held.encode()) <= 120 and held.endswith("…")
    assert whole.startswith(held[:-1])
    assert book.at["culture_28", "notes"] == (
        "The .sav file holds the value label of 1 cut to SPSS's limit of 120 bytes, ending “…”; "
        "the value labels here are whole."
    )
    assert pd.isna(book.at["culture_27", "notes"])


def test_sav_labels_fit_and_say_when_they_were_cut():
    assert sav_label("Short (fine)") == "Short (fine)"
    cut = sav_label("é" * 200, 120)
    assert len(cut.encode()) <= 120 and cut.endswith("…") and "\ufffd" not in cut
    # An explanation that leaves too little room for the start is cut with the rest.
    long_tail = sav_label("Label (" + "x" * 200 + ")", 120)
    assert long_tail.startswith("Label (xxx") and long_tail.endswith("…")
