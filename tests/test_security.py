"""Security headers, cookies, error pages and the request log."""

import logging
import re

import pytest
from flask import abort
from sqlalchemy import text

from surveyapp import PROJECT_ROOT, create_app
from surveyapp.db import get_session
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD, sign_in
from tests.factories import make_invitation

TEMPLATES = PROJECT_ROOT / "surveyapp" / "templates"


# Headers ---------------------------------------------------------------------------------------


def test_every_page_allows_only_the_apps_own_scripts_and_styles(client, auth):
    auth.login()
    pages = [client.get("/auth/login"), client.get("/admin/programmes"), client.get("/nowhere")]

    for page in pages:
        policy = dict(
            part.strip().split(" ", 1)
            for part in page.headers["Content-Security-Policy"].split(";")
        )
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert policy["default-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
        assert "unsafe" not in page.headers["Content-Security-Policy"]
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["X-Frame-Options"] == "DENY"


def test_participant_pages_send_no_referrer_and_are_never_cached(client, session):
    invitation = make_invitation(session)
    session.commit()

    responses = [
        client.get(f"/r/{invitation.token}"),
        client.get("/r/"),
        client.get("/r/page/about_the_session"),
        client.get("/r/not-a-real-token"),
    ]

    for response in responses:
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"


def test_admin_pages_keep_the_referrer_on_this_site_and_are_never_cached(client, auth, session):
    auth.login()
    for url in ("/admin/programmes", "/auth/login", "/auth/session-status"):
        response = client.get(url)
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_static_files_can_be_cached(client):
    response = client.get("/static/css/app.css")

    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()


def test_hsts_only_over_https(client):
    plain = client.get("/auth/login")
    secure = client.get("/auth/login", base_url="https://surveys.example.org")

    assert "Strict-Transport-Security" not in plain.headers
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_forwarded_https_is_believed_only_when_a_proxy_is_configured(make_app):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}

    direct = make_app().test_client().get("/auth/login", headers=forwarded)
    proxied = make_app(PROXY_FIX=1).test_client().get("/auth/login", headers=forwarded)

    assert "Strict-Transport-Security" not in direct.headers
    assert "Strict-Transport-Security" in proxied.headers


# No inline script or style: what the policy would block ---------------------------------------

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on...= event handler"),
    (re.compile(r"\shx-on[:-]", re.I), "an hx-on handler (needs eval)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]
#: Whole documents written into downloads, never served as pages (no policy applies there).
DOCUMENTS = {"privacy/subject_access_file.html"}


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in sorted(TEMPLATES.rglob("*.html"))
        if p.relative_to(TEMPLATES).as_posix() not in DOCUMENTS
    ],
    ids=lambda p: p.relative_to(TEMPLATES).as_posix(),
)
def test_no_page_template_has_inline_script_or_style(path):
    source = path.read_text(encoding="utf-8")
    found = [
        f"{what} on line {source.count(chr(10), 0, match.start()) + 1}"
        for pattern, what in INLINE
        for match in pattern.finditer(source)
    ]

    assert not found, f"{path.name}: {', '.join(found)}"


def test_htmx_is_told_not_to_inject_styles_and_its_indicator_css_is_in_app_css(client):
    page = client.get("/auth/login").text
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', page).group(1)
    css = (PROJECT_ROOT / "static" / "css" / "app.css").read_text(encoding="utf-8")

    assert '"includeIndicatorStyles": false' in config
    assert '"allowEval": false' in config
    assert ".htmx-indicator" in css and ".htmx-request .htmx-indicator" in css


# Cookies ---------------------------------------------------------------------------------------


def _served_app(tmp_path, monkeypatch, **config):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    monkeypatch.delenv("SURVEYAPP_SESSION_COOKIE_SECURE", raising=False)
    return create_app(
        {"SECRET_KEY": "served", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"} | config
    )


def test_a_served_app_sends_the_session_cookie_only_over_https(tmp_path, monkeypatch):
    app = _served_app(tmp_path, monkeypatch, BASE_URL="https://surveys.example.org")

    response = app.test_client().get("/auth/login", base_url="https://surveys.example.org")
    cookie = response.headers["Set-Cookie"]

    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_served_app_answers_only_for_the_host_of_its_base_url(tmp_path, monkeypatch):
    app = _served_app(tmp_path, monkeypatch, BASE_URL="https://surveys.example.org/")
    client = app.test_client()

    assert client.get("/auth/login", base_url="https://surveys.example.org").status_code == 200
    forged = client.get("/auth/login", base_url="http://evil.example")
    assert forged.status_code == 400
    assert "Something was wrong with that request" in forged.text

    monkeypatch.setenv("SURVEYAPP_TRUSTED_HOSTS", "surveys.example.org, 10.0.0.5")
    listed = _served_app(tmp_path, monkeypatch)
    assert listed.config["TRUSTED_HOSTS"] == ["surveys.example.org", "10.0.0.5"]
    assert listed.test_client().get("/auth/login", base_url="http://10.0.0.5").status_code == 200


def test_personal_links_on_the_wave_page_come_from_the_base_url_not_the_host(make_app, session):
    app = make_app(BASE_URL="https://surveys.example.org")
    invitation = make_invitation(session)
    session.commit()
    client = app.test_client()
    accounts.create_user(session, email="a@example.org", password=PASSWORD, role="admin", now=NOW)
    session.commit()
    sign_in(client, session, "a@example.org")

    # Asked for at http://localhost (the test client's host), links still name BASE_URL.
    page = client.get(f"/admin/waves/{invitation.wave_id}")

    assert f"https://surveys.example.org/r/{invitation.token}" in page.text
    assert f"localhost/r/{invitation.token}" not in page.text


def test_cookies_are_not_secure_only_while_developing(tmp_path, monkeypatch):
    testing = _served_app(tmp_path, monkeypatch, TESTING=True)
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    flask_run = create_app({"SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})

    assert testing.config["SESSION_COOKIE_SECURE"] is False
    assert flask_run.config["SESSION_COOKIE_SECURE"] is False


def test_secure_cookies_can_be_turned_off_for_a_plain_http_network(tmp_path, monkeypatch):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    monkeypatch.setenv("SURVEYAPP_SESSION_COOKIE_SECURE", "false")

    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})

    assert app.config["SESSION_COOKIE_SECURE"] is False


# Error pages -----------------------------------------------------------------------------------

TITLES = {
    400: "Something was wrong with that request",
    403: "You cannot see this page",
    404: "Page not found",
    405: "Page not found",
    413: "That file is too large",
    422: "Something was wrong with that request",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
}


@pytest.fixture
def production_app(make_app):
    """An app that answers errors as it would in production, with routes that fail on purpose."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/test/abort/<int:code>")
    def abort_with(code):
        abort(code)

    @app.get("/test/database-error")
    def database_error():
        get_session().execute(text("SELECT secret_column FROM no_such_table WHERE id = 42"))

    @app.get("/test/bug")
    def bug():
        raise RuntimeError("internal detail: /srv/surveyapp/secret.py")

    return app


@pytest.mark.parametrize("code", sorted(TITLES))
def test_each_error_is_a_plain_page_with_a_way_back(production_app, code):
    response = production_app.test_client().get(f"/test/abort/{code}")

    assert response.status_code == code
    assert f'<h1 class="govuk-heading-l" tabindex="-1">{TITLES[code]}</h1>' in response.text
    assert 'href="/auth/login"' in response.text  # a way back, for someone not signed in
    assert "Traceback" not in response.text and "werkzeug" not in response.text.lower()


def test_a_signed_in_user_is_offered_the_admin_start_page(production_app, session):
    from tests.conftest import AuthActions

    client = production_app.test_client()
    AuthActions(client, session).login()

    response = client.get("/test/abort/403")

    assert "Go to the start of the admin pages" in response.text


def test_a_participant_is_sent_back_to_the_link_in_their_email(client):
    response = client.get("/r/page/about_the_session/nothing-here")

    assert response.status_code == 404
    assert "open the link in your email" in response.text.lower() or "reply to that email" in (
        response.text
    )
    assert 'href="/admin/' not in response.text


def test_real_requests_get_the_plain_pages_too(make_app):
    client = make_app(MAX_CONTENT_LENGTH=1024).test_client()

    too_large = client.post("/auth/login", data={"email": "x" * 5000})
    wrong_method = client.delete("/auth/login")

    assert too_large.status_code == 413
    assert "Files must be smaller than 1 KB" in too_large.text
    assert wrong_method.status_code == 405 and "Page not found" in wrong_method.text


def test_a_database_error_gives_a_plain_500_page_with_no_sql(production_app, caplog):
    with caplog.at_level(logging.ERROR, logger="surveyapp"):
        response = production_app.test_client().get("/test/database-error")

    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "Try again later." in response.text
    for leak in ("no_such_table", "secret_column", "SELECT", "sqlalchemy", "Traceback", "id = 42"):
        assert leak not in response.text
    # The details go to the log, for whoever runs the service.
    assert "GET /test/database-error" in caplog.text and "no_such_table" in caplog.text


def test_an_unexpected_error_shows_nothing_of_the_code(production_app):
    response = production_app.test_client().get("/test/bug")

    assert response.status_code == 500
    assert "internal detail" not in response.text and "secret.py" not in response.text


def test_in_development_unexpected_errors_reach_the_debugger(make_app):
    app = make_app()  # TESTING: errors propagate, as with the debugger

    @app.get("/test/bug")
    def bug():
        raise RuntimeError("for the developer")

    with pytest.raises(RuntimeError, match="for the developer"):
        app.test_client().get("/test/bug")


# Request log -----------------------------------------------------------------------------------


def test_one_log_line_per_request_naming_the_rule_not_the_link(client, session, caplog):
    invitation = make_invitation(session)
    session.commit()

    with caplog.at_level(logging.INFO, logger="surveyapp.requests"):
        client.get(f"/r/{invitation.token}?from=email&who={invitation.participant.email}")
        client.get(f"/r/{invitation.token}/no-reminders")
        client.get("/r/")
        client.post("/r/page/about_the_session", data={"page_id": "about_the_session"})
        client.get("/r/unknown-token-abc")
        client.get("/no/such/page")

    lines = [r.getMessage() for r in caplog.records if r.name == "surveyapp.requests"]
    assert len(lines) == 6
    assert re.fullmatch(r"GET /r/<token> 303 \d+\.\dms", lines[0])
    assert lines[1].startswith("GET /r/<token>/no-reminders 200 ")
    assert lines[2].startswith("GET /r/ 200 ")
    assert lines[3].startswith("POST /r/page/<page_id> 422 ")
    assert lines[4].startswith("GET /r/<token> 404 ")
    assert lines[5].startswith("GET (no route) 404 ")
    everything = "\n".join(lines)
    for secret in (invitation.token, "unknown-token-abc", invitation.participant.email, "from="):
        assert secret not in everything


def test_a_form_with_more_fields_than_any_page_has_is_refused_plainly(client, session):
    link = make_invitation(session)
    session.commit()
    client.get(f"/r/{link.token}")
    flood = "&".join(f"f{number}=1" for number in range(5001))

    for path in ("/auth/login", "/r/page/about_the_session"):
        response = client.post(path, data=flood, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 413
        assert "That form sent too many answers" in response.text
        assert "at most 5,000 fields" in response.text
    assert session.scalar(text("SELECT count(*) FROM draft_answers")) == 0

    fine = "&".join(f"f{number}=1" for number in range(200))
    assert (
        client.post(
            "/auth/login", data=fine, content_type=("application/x-www-form-urlencoded")
        ).status_code
        != 413
    )
