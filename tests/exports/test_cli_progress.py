"""`flask exports write` says how far a long export has got, stage by stage, on stderr."""

import re

from surveyapp.scoring import scales
from tests.exports.test_jobs import _wave


def test_exports_write_prints_each_stage_as_it_goes(runner, session, tmp_path, monkeypatch):
    wave = _wave(session, people=30)
    monkeypatch.setattr(scales, "BATCH", 40)  # 30 people x 13 answers: ten batches
    target = tmp_path / "wave.csv"

    result = runner.invoke(args=["exports", "write", str(wave.id), "--out", str(target)])

    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    progress = [line for line in lines if re.fullmatch(r".+… \d+%", line)]
    assert progress[0] == "Loading answers… 0%"
    loading = [int(line.split("… ")[1][:-1]) for line in progress if line.startswith("Loading")]
    assert len(loading) >= 5 and loading == sorted(loading) and loading[-1] == 100
    stages = [line.split("…")[0] for line in progress]
    assert list(dict.fromkeys(stages)) == ["Loading answers", "Scoring", "Writing the file"]
    assert progress[-1] == "Writing the file… 100%"
    assert len(progress) == len(set(progress))  # no line twice
    assert f"Wrote {target}" in result.stdout and "Loading" not in result.stdout
    assert target.read_bytes().startswith(b"\xef\xbb\xbfid_number")


def test_exports_write_names_a_choice_it_cannot_write(runner, session):
    wave = _wave(session)

    result = runner.invoke(
        args=["exports", "write", str(wave.id), "--format", "sav", "--layout", "codebook"]
    )

    assert result.exit_code == 1
    assert "The codebook has no SPSS file" in result.stderr
    assert "Choose CSV or Excel for the codebook." in result.stderr
