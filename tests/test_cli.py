"""Command-line use: checking files, storing versions, staff accounts."""

import shutil
from pathlib import Path

from sqlalchemy import select

from surveyapp import PROJECT_ROOT
from surveyapp.models import QuestionnaireVersion, User

SHIPPED = PROJECT_ROOT / "questionnaires"
BROKEN = Path(__file__).parent / "questionnaires" / "broken"


def test_check_of_the_shipped_folder_passes_with_the_known_warning(runner):
    result = runner.invoke(args=["questionnaires", "check"])

    assert result.exit_code == 0, result.output
    assert "0 error(s), 1 warning(s)" in result.output
    assert 'Warning: The item "culture_29"' in result.output


def test_check_lists_every_problem_of_every_file_and_fails(runner):
    paths = [str(BROKEN / "unknown_item_type.yaml"), str(BROKEN / "bipolar_bad_points.yaml")]

    result = runner.invoke(args=["questionnaires", "check", *paths])

    assert result.exit_code == 1
    assert 'line 10, column 18: The item "q1" has the type "likert_scale"' in result.output
    assert '"points" of the item "q1" must be between 2 and 11.' in result.output
    assert "2 file(s) checked: 0 ready, 2 with errors." in result.output


def test_check_of_a_whole_folder_of_broken_files_never_crashes(runner):
    result = runner.invoke(args=["questionnaires", "check", str(BROKEN)])

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{len(list(BROKEN.glob('*.yaml')))} file(s) checked" in result.output


def test_check_of_a_missing_path_says_so(runner):
    result = runner.invoke(args=["questionnaires", "check", "no/such/file.yaml"])

    assert result.exit_code == 2
    assert "No such file or folder: no/such/file.yaml" in result.output


def test_load_stores_a_version_only_when_a_file_changed(make_app, tmp_path, session):
    folder = tmp_path / "q"
    folder.mkdir()
    shutil.copy(SHIPPED / "session_evaluation.yaml", folder)
    runner = make_app(QUESTIONNAIRE_DIR=str(folder)).test_cli_runner()

    first = runner.invoke(args=["questionnaires", "load"])
    again = runner.invoke(args=["questionnaires", "load"])
    path = folder / "session_evaluation.yaml"
    path.write_text(path.read_text() + "\n# a comment changes the text\n")
    changed = runner.invoke(args=["questionnaires", "load"])

    assert "session_evaluation: new version 1" in first.output
    assert "session_evaluation: unchanged, version 1" in again.output
    assert "session_evaluation: new version 2" in changed.output
    versions = session.scalars(
        select(QuestionnaireVersion).order_by(QuestionnaireVersion.number)
    ).all()
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].source_text == path.read_text()


def test_users_create_hashes_the_password_with_argon2(runner, session):
    result = runner.invoke(
        args=["users", "create", "--role", "evaluator", "Eva@Example.org"],
        input="a long enough password\na long enough password\n",
    )

    assert result.exit_code == 0, result.output
    user = session.scalar(select(User))
    assert (user.email, user.role) == ("eva@example.org", "evaluator")
    assert user.password_hash.startswith("$argon2id$")


def test_users_create_refuses_a_short_password_and_a_second_account(runner):
    short = runner.invoke(args=["users", "create", "a@example.org"], input="short\nshort\n")
    runner.invoke(
        args=["users", "create", "b@example.org"], input="long enough pw\nlong enough pw\n"
    )
    twice = runner.invoke(
        args=["users", "create", "B@example.org"], input="long enough pw\nlong enough pw\n"
    )

    assert short.exit_code == 1
    assert "The password must be at least 10 characters." in short.output
    assert twice.exit_code == 1
    assert "There is already an account for b@example.org." in twice.output


def test_demo_prepares_a_database_from_nothing_and_prints_working_links(tmp_path):
    from surveyapp import create_app
    from surveyapp.models import Programme, Wave

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "WTF_CSRF_ENABLED": False,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}",
        }
    )
    runner = app.test_cli_runner()

    first = runner.invoke(args=["demo", "--no-serve"])
    again = runner.invoke(args=["demo", "--no-serve"])

    assert first.exit_code == 0, first.output
    assert "Email:     admin@example.org" in first.output
    link = next(line for line in first.output.splitlines() if "/r/" in line).split("/r/")[1]
    with app.extensions["surveyapp.sessionmaker"]() as session:
        programmes = {p.name: p for p in session.scalars(select(Programme))}
        assert len(programmes) == 2  # the peer support pilot and the action learning sets
        users = {user.email: user.role for user in session.scalars(select(User))}
        assert users == {
            "admin@example.org": "admin",
            "evaluator@example.org": "evaluator",
            "viewer@example.org": "viewer",
            "facilitator@example.org": "facilitator",
        }
        assert len(programmes["Demo: pilot peer support programme"].participants) == 30
        mentor_wave = session.scalar(select(Wave).where(Wave.label == "Mentor evaluation"))
        invited_roles = {invitation.participant.role for invitation in mentor_wave.invitations}
        assert mentor_wave.audience == {"role": ["Mentor"]}
        assert invited_roles == {"Mentor"} and len(mentor_wave.invitations) == 5
    client = app.test_client()
    password = next(line for line in again.output.splitlines() if "Password:" in line).split()[1]
    viewer = app.test_client()
    signed_in = viewer.post(
        "/auth/login", data={"email": "viewer@example.org", "password": password}
    )
    assert signed_in.status_code == 303
    assert "Demo" in viewer.get("/admin/programmes").text
    assert client.get(f"/r/{link}").status_code == 303
    assert "Start now" in client.get("/r/").text
    assert again.exit_code == 0
    app.extensions["surveyapp.engine"].dispose()


def test_exports_write_makes_an_spss_file_with_labels(app, runner, session, tmp_path):
    import pyreadstat

    from surveyapp.questionnaires import load_all
    from tests.factories import make_invitation
    from tests.participant import complete

    invitation = make_invitation(session, key="session_evaluation")
    session.commit()
    complete(
        app.test_client(), invitation.token, load_all(SHIPPED).questionnaires["session_evaluation"]
    )
    target = tmp_path / "baseline.sav"

    result = runner.invoke(
        args=[
            "exports",
            "write",
            str(invitation.wave_id),
            "--format",
            "sav",
            "--full",
            "--out",
            str(target),
        ]
    )
    missing = runner.invoke(args=["exports", "write", "999"])

    assert result.exit_code == 0, result.output
    assert f"Wrote {target}" in result.output
    frame, meta = pyreadstat.read_sav(str(target))
    assert list(frame["id_number"]) == [invitation.participant.id_number]
    assert meta.column_names_to_labels["id_number"]
    assert missing.exit_code == 1
    assert "There is no wave 999." in missing.output


def _wave_of_a_programme_at_8(session):
    from tests.factories import make_programme
    from tests.scoring.builders import cohort, store_questionnaire, submit_all, wave_of

    programme = make_programme(session, name="Threshold Eight", reporting_threshold=8)
    cohort(session, {"North": 6, "South": 6}, programme)
    wave = wave_of(session, programme, store_questionnaire(session), label="Baseline")
    submit_all(session, wave, lambda person: {"q1": 4, "q2": 3, "q3": 2, "q4": 5})
    session.commit()
    return wave


def test_exports_write_uses_the_programmes_threshold_unless_a_higher_one_is_given(
    runner, session, tmp_path
):
    import pandas as pd

    wave = _wave_of_a_programme_at_8(session)
    default, higher = tmp_path / "default.csv", tmp_path / "higher.csv"

    by_default = runner.invoke(args=["exports", "write", str(wave.id), "--out", str(default)])
    raised = runner.invoke(
        args=["exports", "write", str(wave.id), "--threshold", "12", "--out", str(higher)]
    )

    assert by_default.exit_code == 0, by_default.output
    assert "suppressed below 8" in by_default.stdout
    # Teams of 6 are under the programme's 8: neither is named in the file.
    assert set(pd.read_csv(default)["team"]) == {"Other (small groups)"}
    assert raised.exit_code == 0, raised.output
    assert "suppressed below 12" in raised.stdout


def test_exports_write_refuses_a_threshold_below_the_programmes(runner, session, tmp_path):
    wave = _wave_of_a_programme_at_8(session)
    target = tmp_path / "lower.csv"

    result = runner.invoke(
        args=["exports", "write", str(wave.id), "--threshold", "5", "--out", str(target)]
    )

    assert result.exit_code == 1
    assert (
        "--threshold 5 is lower than the reporting threshold of “Threshold Eight”, which is 8."
        in result.stderr
    )
    assert not target.exists()
