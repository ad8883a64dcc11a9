"""No log line names a personal link's token: the development server's request lines,
gunicorn's access log and Flask's error log show ``/r/<token>`` instead."""

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

from surveyapp import PROJECT_ROOT, create_app
from surveyapp.db import Base
from surveyapp.web.security import hide_tokens
from tests.conftest import NOW
from tests.factories import make_invitation


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def _app_with_a_link(tmp_path):
    app = create_app(
        {"SECRET_KEY": "logs", "DATABASE_URL": f"sqlite:///{tmp_path / 'logs.sqlite'}"}
    )
    Base.metadata.create_all(app.extensions["surveyapp.engine"])
    with app.extensions["surveyapp.sessionmaker"]() as session:
        invitation = make_invitation(
            session, opens_at=NOW.replace(year=2020), closes_at=NOW.replace(year=2099)
        )
        session.commit()
        return app, invitation.token


def test_the_development_servers_request_lines_hide_the_token(tmp_path, caplog):
    app, token = _app_with_a_link(tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO):
            statuses = [
                _get(f"{base}/r/{token}"),
                _get(f"{base}/r/{token}/no-reminders"),
                _get(f"{base}/r/NotARealToken123456"),
            ]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["surveyapp.engine"].dispose()

    assert statuses == [303, 200, 404]
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert len(lines) == 3
    assert all("GET /r/<token>" in line for line in lines), lines
    assert "/r/<token>/no-reminders" in lines[1]
    everything = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in everything and "NotARealToken123456" not in everything


def test_gunicorns_access_log_hides_the_token(tmp_path):
    app, token = _app_with_a_link(tmp_path)
    app.extensions["surveyapp.engine"].dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {
        "SURVEYAPP_SECRET_KEY": "logs",
        "SURVEYAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'logs.sqlite'}",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    log = tmp_path / "access.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", str(log), "--error-logfile", str(tmp_path / "error.log"),
         "wsgi:app"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                if _get(f"http://127.0.0.1:{port}/health") == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        status = _get(f"http://127.0.0.1:{port}/r/{token}")
        referred = urllib.request.Request(
            f"http://127.0.0.1:{port}/r/{token}/no-reminders",
            headers={"Referer": f"http://127.0.0.1:{port}/r/{token}"},
        )
        with urllib.request.urlopen(referred, timeout=20) as response:
            assert response.status == 200
        for _ in range(50):
            if log.exists() and log.read_text().count("\n") >= 3:
                break
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=20)

    assert status == 303
    lines = log.read_text().splitlines()
    assert any('"GET /r/<token> HTTP/1.1" 303' in line for line in lines), lines
    assert any('"GET /r/<token>/no-reminders HTTP/1.1" 200' in line for line in lines), lines
    assert token not in log.read_text()


def test_flasks_error_log_hides_the_token(caplog):
    record = logging.LogRecord(
        "surveyapp", logging.ERROR, __file__, 1, "Exception on %s [%s]", ("/r/AbC-123_x", "GET"),
        None,
    )  # fmt: skip
    create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})

    assert all(f.filter(record) for f in logging.getLogger("surveyapp").filters)
    assert record.getMessage() == "Exception on /r/<token> [GET]"


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("GET /r/page/about_you HTTP/1.1", "GET /r/page/about_you HTTP/1.1"),
        ("POST /r/submit HTTP/1.1", "POST /r/submit HTTP/1.1"),
        ("GET /r/complete HTTP/1.1", "GET /r/complete HTTP/1.1"),
        ("GET /r/completely-a-token HTTP/1.1", "GET /r/<token> HTTP/1.1"),
        ("GET https://surveys.example.org/r/x9?y=1 HTTP/1.1", "GET https://surveys.example.org/r/<token>?y=1 HTTP/1.1"),
    ],
)  # fmt: skip
def test_only_tokens_are_hidden(line, shown):
    assert hide_tokens(line) == shown
