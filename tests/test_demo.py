"""The demo: links in its emails and in its terminal point at the address it serves, and it
prints only links that work."""

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

from sqlalchemy import select

from surveyapp import PROJECT_ROOT, create_app
from surveyapp.demo import served_address
from surveyapp.models import Invitation, Message
from surveyapp.people import roster

LINK = re.compile(r"(http://\S+)/r/([A-Za-z0-9_-]+)")


def _demo_app(tmp_path):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "WTF_CSRF_ENABLED": False,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}",
        }
    )


def test_the_served_address_is_one_a_browser_on_this_computer_opens():
    assert served_address("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert served_address("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert served_address("::", 8000) == "http://[::1]:8000"
    assert served_address("localhost", 5001) == "http://localhost:5001"


def test_the_demo_writes_its_emails_with_the_address_of_its_port(tmp_path):
    app = _demo_app(tmp_path)

    result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--port", "8123"])

    assert result.exit_code == 0, result.output
    assert "Open:      http://127.0.0.1:8123/admin/" in result.output
    assert app.config["BASE_URL"] == "http://127.0.0.1:8123"
    with app.extensions["surveyapp.sessionmaker"]() as session:
        bodies = session.scalars(select(Message.body)).all()
    assert bodies and all("http://127.0.0.1:8123/r/" in body for body in bodies)
    assert not any(":5000" in body for body in bodies)
    app.extensions["surveyapp.engine"].dispose()


def test_a_second_run_prints_only_links_that_work(tmp_path):
    app = _demo_app(tmp_path)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--no-serve"])
    tokens = [token for _, token in LINK.findall(first.output)]
    assert first.exit_code == 0 and len(tokens) >= 3, first.output
    with app.extensions["surveyapp.sessionmaker"]() as session:
        withdrawn = session.scalar(select(Invitation).where(Invitation.token == tokens[0]))
        roster.withdraw(session, withdrawn.participant, now=app.config["CLOCK"]())
        session.commit()
        gone = {i.token for i in withdrawn.participant.invitations}

    again = runner.invoke(args=["demo", "--no-serve"])

    assert again.exit_code == 0, again.output
    printed = [token for _, token in LINK.findall(again.output)]
    assert printed and not set(printed) & gone
    for token in printed:
        client = app.test_client()
        assert client.get(f"/r/{token}").status_code == 303
        assert "Start now" in client.get("/r/").text
    app.extensions["surveyapp.engine"].dispose()


def _get(url: str) -> tuple[int, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=20) as response:
            return response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, error.headers.get("Location", "")


def test_the_served_demo_prints_links_on_the_port_it_took_and_logs_no_token(tmp_path):
    env = os.environ | {
        "SURVEYAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}",
        "SURVEYAPP_INSTANCE_PATH": str(tmp_path / "instance"),
        "SURVEYAPP_BASE_URL": "http://127.0.0.1:5000",  # what the demo must not use
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    demo = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "surveyapp", "demo", "--port", "0"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    output = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            output.append(line)
            if LINK.search(line) or demo.poll() is not None:
                break
        found = LINK.search(output[-1])
        assert found, "".join(output)
        base, token = found.groups()
        assert base != "http://127.0.0.1:5000" and base.startswith("http://127.0.0.1:")
        assert f"Open:      {base}/admin/" in "".join(output)
        assert _get(f"{base}/r/{token}") == (303, "/r/")
    finally:
        demo.terminate()
        _, errors = demo.communicate(timeout=30)

    assert "GET /r/<token> HTTP/1.1" in errors
    assert token not in errors


def test_the_action_learning_demo_runs_over_time_as_seed_001_did(tmp_path):
    """23 set members in two sets and 11 mentors, seven meetings each counting the launch,
    an evaluation made after each by the scheduled step, and outcomes that read as the
    seed's report: those who came to five or more, with three or more mentoring
    sessions, gained more."""
    from surveyapp.demo_als import ALS_PROGRAMME_NAME
    from surveyapp.models import Programme, ProgrammeSession, Wave
    from surveyapp.reminders import sending
    from surveyapp.scoring import outcomes
    from surveyapp.sessions import operations as sessions

    app = _demo_app(tmp_path)
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "After the project: set members" in result.output
    with app.extensions["surveyapp.sessionmaker"]() as session:
        programme = session.scalar(select(Programme).where(Programme.name == ALS_PROGRAMME_NAME))
        people = programme.participants
        assert sum(p.role == "Set member" for p in people) == 23
        assert sum(p.role == "Mentor" for p in people) == 11
        assert {p.team for p in people} == {"West set", "East set"}
        doses = sessions.attendance_by_person(session, programme)
        members = [p for p in people if p.role == "Set member"]
        assert {doses[p.id].offered for p in members} == {7}
        assert max(doses[p.id].mentoring for p in members) == 5
        meetings = session.scalars(
            select(ProgrammeSession).where(
                ProgrammeSession.programme_id == programme.id,
                ProgrammeSession.kind == "als_meeting",
            )
        ).all()
        evaluated = session.scalars(
            select(Wave.session_id).where(Wave.session_id.is_not(None))
        ).all()
        assert len(meetings) == 13 and sorted(evaluated) == sorted(m.id for m in meetings)
        waves = {wave.label: wave for wave in programme.waves}
        assert waves["After the project: mentors"].audience == {"role": ["Mentor"]}
        steps = sending.steps_of(session, waves["Endpoint"])
        assert [(s.days_after_opening, s.deadline_working_days) for s in steps][1:] == [
            (7, None), (14, None), (21, 3),
        ]  # fmt: skip
        read = outcomes.outcomes_by_attendance(
            session, programme, waves["Endpoint"], waves["Baseline"], threshold=5
        )
        confidence = next(s for s in read.scales if s.scale == "part_d_confidence")
        rows = {row.band: row for row in confidence.rows}
        assert rows["5 or more of 7"].mean_change > rows["fewer than 5 of 7"].mean_change
        assert confidence.slope is not None and confidence.slope.slope > 0
        counts = (session.query(ProgrammeSession).count(), session.query(Wave).count())

    again = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    with app.extensions["surveyapp.sessionmaker"]() as session:
        assert (session.query(ProgrammeSession).count(), session.query(Wave).count()) == counts
    app.extensions["surveyapp.engine"].dispose()
