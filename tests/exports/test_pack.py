"""The evaluator's pack: one ZIP per programme, built from the single exports' tables."""

import io
import random
import shutil
import subprocess
import zipfile

import pandas as pd
import pyreadstat
import pytest

from surveyapp.exports import POOLED, ExportFile, wave_tables
from surveyapp.exports.pack import MANIFEST, README, build_pack
from surveyapp.scoring.disclosure import programme_releases
from tests.conftest import NOW
from tests.factories import make_programme
from tests.scoring.builders import cohort, store_questionnaire, submit_all, wave_of


def _programme(session):
    programme = make_programme(session, name="Pilot “North/South”")
    people = cohort(session, {"North": 8, "South": 6, "East": 4}, programme)
    version = store_questionnaire(session)
    baseline = wave_of(session, programme, version, label="Baseline", opens_at=NOW.replace(day=1))
    endpoint = wave_of(session, programme, version, label="Endpoint", opens_at=NOW.replace(day=2))
    tiny = wave_of(session, programme, version, label="Tiny", opens_at=NOW.replace(day=3))
    submit_all(
        session,
        baseline,
        lambda person: {"q1": 9 if person is people[3] else 2, "q2": 3, "q3": 1 + person.id % 5},
    )
    submit_all(session, endpoint, lambda person: {"q1": 4} if person is not people[0] else None)
    submit_all(session, tiny, lambda person: {"q1": 1} if person in people[:2] else None)
    return programme, people, baseline, endpoint


def _open(exported):
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    root = exported.filename.removesuffix(".zip")
    return {
        name.removeprefix(root + "/"): archive.read(name) for name in archive.namelist()
    }, archive


def test_pack_holds_every_file_with_a_verifying_manifest(session, tmp_path):
    programme, people, baseline, _endpoint = _programme(session)
    exported = build_pack(
        session, programme, for_evaluator=True, made_by="Ada (evaluator)", now=NOW
    )
    files, archive = _open(exported)

    assert exported.filename == "pilot_north_south_evaluators_pack_suppressed.zip"
    for folder in ("w1_baseline", "w2_endpoint"):
        for name in ("wide", "long"):
            for ext in ("csv", "sav", "dta"):
                assert f"{folder}/{name}.{ext}" in files
        assert f"{folder}/codebook.csv" in files
        assert b"<table>" in files[f"{folder}/codebook.html"]
    assert not any(name.startswith("w3_") for name in files)  # two responses: withheld
    assert {"programme/wide.csv", "programme/wide.sav", "programme/wide.dta"} <= set(files)

    readme = files[README].decode()
    assert "Reporting threshold applied: 5" in readme
    assert "Tiny" in readme and "Not in this pack" in readme
    assert "Ada (evaluator)" in readme

    archive.extractall(tmp_path)
    checked = subprocess.run(
        ["sha256sum", "-c", MANIFEST],
        cwd=tmp_path / exported.filename.removesuffix(".zip"),
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == len(files) - 1


def test_pack_numbers_are_the_single_exports_numbers(session, tmp_path):
    programme, _people, baseline, _endpoint = _programme(session)
    exported = build_pack(session, programme, for_evaluator=True, made_by="Ada", now=NOW)
    files, _archive = _open(exported)

    releases = programme_releases(session, programme, programme.reporting_threshold)
    single = wave_tables(session, baseline, for_evaluator=True, release=releases[baseline.id])
    packed = pd.read_csv(io.BytesIO(files["w1_baseline/wide.csv"]), dtype={"id_number": str})
    assert packed["team"].value_counts().to_dict() == {"North": 8, POOLED: 10}
    assert packed["agree_mean"].notna().sum() >= 17
    pd.testing.assert_series_equal(
        packed["agree_mean"], single.data["agree_mean"].astype(float), check_exact=False
    )

    path = tmp_path / "wide.dta"
    path.write_bytes(files["w1_baseline/wide.dta"])
    dta, meta = pyreadstat.read_dta(str(path))
    assert len(dta) == len(packed)
    assert dta["id_number"].tolist() == packed["id_number"].tolist()
    assert dta["q1"].tolist() == packed["q1"].tolist()
    assert meta.column_names_to_labels["q1"] == "Item one"


def test_programme_file_joins_waves_and_says_who_answered(session):
    programme, people, _baseline, _endpoint = _programme(session)
    files, _archive = _open(
        build_pack(session, programme, for_evaluator=True, made_by="Ada", now=NOW)
    )
    joined = pd.read_csv(io.BytesIO(files["programme/wide.csv"]), dtype={"id_number": str})
    joined = joined.set_index("id_number")

    assert len(joined) == len(people)
    assert joined.at[people[0].id_number, "answered_w1"] == 1
    assert joined.at[people[0].id_number, "answered_w2"] == 0
    assert joined.at[people[1].id_number, "waves_answered"] == 2
    assert "w3_q1" not in joined.columns


def test_full_pack_shows_small_groups_and_says_so(session):
    programme, _people, _baseline, _endpoint = _programme(session)
    exported = build_pack(session, programme, for_evaluator=False, made_by="Admin", now=NOW)
    files, _archive = _open(exported)

    assert exported.filename.endswith("_full.zip")
    assert "w3_tiny/wide.csv" in files
    wide = pd.read_csv(io.BytesIO(files["w1_baseline/wide.csv"]))
    assert wide["team"].value_counts().to_dict() == {"North": 8, "South": 6, "East": 4}
    assert "do not share it" in files[README].decode()


def test_exports_pack_command_writes_the_zip_and_audits_it(runner, session, tmp_path):
    from sqlalchemy import select

    from surveyapp.models import AuditEvent

    programme, _people, _baseline, _endpoint = _programme(session)
    session.commit()
    target = tmp_path / "pack.zip"

    result = runner.invoke(args=["exports", "pack", str(programme.id), "--out", str(target)])

    assert result.exit_code == 0, result.output
    assert f"Wrote {target}" in result.stdout and "suppressed below 5" in result.stdout
    assert "Writing the file… 100%" in result.stderr
    names = zipfile.ZipFile(target).namelist()
    assert any(name.endswith("/w1_baseline/wide.dta") for name in names)
    session.expire_all()
    entry = session.scalars(select(AuditEvent).where(AuditEvent.action == "export.download")).one()
    assert "Evaluator's pack" in entry.summary and "small groups hidden" in entry.summary


def test_exports_pack_command_names_a_missing_programme(runner):
    result = runner.invoke(args=["exports", "pack", "999"])

    assert result.exit_code == 1
    assert "There is no programme 999." in result.stderr


def test_a_pack_job_runs_in_the_background_and_hands_over_the_zip(session, app, tmp_path):
    from surveyapp.exports import jobs

    programme, _people, _baseline, _endpoint = _programme(session)
    session.commit()
    store = jobs.JobStore(tmp_path / "jobs")
    job, new = jobs.find_or_create(
        store,
        NOW,
        owner=1,
        wave_id=0,
        file_format="zip",
        layout=jobs.PACK,
        for_evaluator=True,
        threshold=5,
        programme_id=programme.id,
    )
    again, second = jobs.find_or_create(
        store,
        NOW,
        owner=1,
        wave_id=0,
        file_format="zip",
        layout=jobs.PACK,
        for_evaluator=True,
        threshold=5,
        programme_id=programme.id,
    )

    finished = jobs.run(store, job, app.extensions["surveyapp.sessionmaker"], lambda: NOW)

    assert new and not second and again.id == job.id
    assert finished.state == jobs.READY, finished.message
    assert finished.filename.endswith("_evaluators_pack_suppressed.zip")
    content = store.take(finished)
    files, _archive = _open(ExportFile(finished.filename, finished.mimetype, content))
    assert "w1_baseline/wide.sav" in files
    assert "Made on" in files[README].decode() and "a former account" in files[README].decode()


def _scripts_pack(session, tmp_path):
    """A wave with reverse-coded items, missing answers and "not applicable", packed."""
    programme = make_programme(session, name="Scripts")
    people = cohort(session, {"North": 6, "South": 6}, programme)
    wave = wave_of(session, programme, store_questionnaire(session), label="Baseline")
    rng = random.Random(15)

    def answers(person):
        # Reverse-coded q3, "not applicable" (9) on q1, gaps below and above min_answered.
        chosen = {key: rng.choice([1, 2, 3, 4, 5, None]) for key in ("q1", "q2", "q3", "q4")}
        if rng.random() < 0.3:
            chosen["q1"] = 9
        chosen.update(b1=rng.randint(1, 5), b2=rng.choice([1, 2, 3, 4, 5, None]))
        return {key: value for key, value in chosen.items() if value is not None}

    submit_all(session, wave, answers)
    exported = build_pack(session, programme, for_evaluator=True, made_by="Ada", now=NOW)
    zipfile.ZipFile(io.BytesIO(exported.content)).extractall(tmp_path / "pack")
    folder = tmp_path / "pack" / exported.filename.removesuffix(".zip") / "w1_baseline"
    product = wave_tables(session, wave, for_evaluator=True).data
    return people, folder, product


SCALES = ("agree_mean", "agree_sum", "agree_sum_all", "pairs")


def _agree(product: pd.DataFrame, again: pd.DataFrame) -> int:
    """Assert every recomputed score equals the product's to 1e-9; return how many."""
    compared = 0
    product = product.set_index("id_number")
    again = again.set_index("id_number").reindex(product.index)
    for scale in SCALES:
        mine, theirs = product[scale].astype(float), again[f"rc_{scale}"].astype(float)
        assert (mine.isna() == theirs.isna()).all(), scale
        assert ((mine - theirs).abs().fillna(0) <= 1e-9).all(), scale
        compared += int(mine.notna().sum())
    assert product["agree_mean"].isna().any() and product["agree_mean"].notna().any()
    return compared


@pytest.mark.skipif(shutil.which("pspp") is None, reason="GNU PSPP is not installed")
def test_pspp_recomputes_every_scale_as_the_product_does(session, tmp_path):
    people, folder, product = _scripts_pack(session, tmp_path)
    syntax = (folder / "scores.sps").read_text(encoding="utf-8")
    (folder / "check.sps").write_text(syntax + "SAVE OUTFILE='recomputed.sav'.\n", encoding="utf-8")

    ran = subprocess.run(["pspp", "check.sps"], cwd=folder, capture_output=True, text=True)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    recomputed, _meta = pyreadstat.read_sav(str(folder / "recomputed.sav"))
    assert len(recomputed) == len(people)
    assert _agree(product, recomputed) > 20


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_r_script_recomputes_every_scale_as_the_product_does(session, tmp_path):
    people, folder, product = _scripts_pack(session, tmp_path)

    ran = subprocess.run(["Rscript", "scores.R"], cwd=folder, capture_output=True, text=True)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    recomputed = pd.read_csv(folder / "scores_recomputed.csv", dtype={"id_number": str})
    assert len(recomputed) == len(people)
    assert _agree(product, recomputed) > 20
    assert "agree_mean: n " in ran.stdout and "largest difference" in ran.stdout


@pytest.mark.skipif(
    shutil.which("pspp") is None or shutil.which("Rscript") is None,
    reason="GNU PSPP and R are needed",
)
@pytest.mark.parametrize(
    "key", ["leadership_culture", "peer_support_baseline", "als_member_evaluation"]
)
def test_scripts_recompute_the_shipped_questionnaires_scales(session, tmp_path, key):
    from surveyapp.demo import sample_answers
    from surveyapp.questionnaires.catalogue import questionnaire_of

    programme = make_programme(session, name="Shipped")
    cohort(session, {"North": 7, "South": 6}, programme)
    wave = wave_of(session, programme, key=key)
    questionnaire = questionnaire_of(wave.questionnaire_version)
    rng = random.Random(key)
    submit_all(session, wave, lambda person: sample_answers(questionnaire, rng, 0.6))
    exported = build_pack(session, programme, for_evaluator=True, made_by="Ada", now=NOW)
    zipfile.ZipFile(io.BytesIO(exported.content)).extractall(tmp_path)
    folder = tmp_path / exported.filename.removesuffix(".zip") / "w1_baseline"
    folder = next((tmp_path / exported.filename.removesuffix(".zip")).glob("w1_*"))
    product = wave_tables(session, wave, for_evaluator=True)
    key_name = product.key
    scales = [v.name for v in product.variables if v.role == "score"]
    assert scales

    syntax = (folder / "scores.sps").read_text(encoding="utf-8")
    (folder / "check.sps").write_text(syntax + "SAVE OUTFILE='recomputed.sav'.\n", encoding="utf-8")
    pspp = subprocess.run(["pspp", "check.sps"], cwd=folder, capture_output=True, text=True)
    r = subprocess.run(["Rscript", "scores.R"], cwd=folder, capture_output=True, text=True)

    assert pspp.returncode == 0 and "error" not in pspp.stdout.lower(), pspp.stdout
    assert r.returncode == 0, r.stderr
    by_pspp, _meta = pyreadstat.read_sav(str(folder / "recomputed.sav"))
    by_r = pd.read_csv(folder / "scores_recomputed.csv", dtype={key_name: str})
    data = product.data.reset_index(drop=True)
    for scale in scales:
        mine = data[scale].astype(float).to_numpy()
        for name, again in (("pspp", by_pspp), ("R", by_r)):
            theirs = again[f"rc_{scale}"].astype(float).to_numpy()
            assert (pd.isna(mine) == pd.isna(theirs)).all(), (name, scale)
            assert (abs(mine - theirs)[~pd.isna(mine)] <= 1e-9).all(), (name, scale)
