"""Survey platform: application factory."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_wtf import CSRFProtect

from surveyapp.clock import utcnow
from surveyapp.errors import ConfigError

csrf = CSRFProtect()


PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure one instance of the application.

    Configuration is layered: defaults below, then ``SURVEYAPP_*``
    environment variables, then ``test_config`` (tests only).
    """
    app = Flask(
        __name__, static_folder=str(PROJECT_ROOT / "static"), instance_path=str(instance_path())
    )
    app.config.from_mapping(
        SECRET_KEY=None,  # SURVEYAPP_SECRET_KEY; required when served by a WSGI server
        DATABASE_URL=default_database_url(),  # SQLite in the instance folder, or PostgreSQL
        QUESTIONNAIRE_DIR=str(PROJECT_ROOT / "questionnaires"),  # the definition files
        CLOCK=utcnow,  # tests pass a function returning a fixed time
        STUDY_TIMEZONE="Europe/London",  # display only; storage is UTC
        # Cookies only over HTTPS; None: on, unless developing (debug, tests, `flask run`).
        SESSION_COOKIE_SECURE=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        STAFF_IDLE_MINUTES=30,  # a staff member doing nothing this long is signed out
        STAFF_IDLE_WARNING_SECONDS=120,  # ...after a warning this long before, on admin pages
        PROXY_FIX=0,  # proxies in front whose X-Forwarded-* headers to believe; 0: none
        # Rate-limit counts; memory:// is per process, so with several gunicorn workers
        # use a shared store, for example redis://localhost:6379 (pip install 'surveyapp[redis]').
        RATELIMIT_STORAGE_URI="memory://",
        LIMIT_SIGN_IN_PER_ACCOUNT="10 per 15 minutes",  # failed sign-ins naming one email
        LIMIT_SIGN_IN_PER_ADDRESS="30 per 15 minutes",  # failed sign-ins from one IP address
        # Who must use two-step verification: "managers" (administrators and programme
        # managers) or "all" (every staff account).
        REQUIRE_TWO_STEP="managers",
        TWO_STEP_ISSUER="surveyapp",
        # A full export, an erasure and a role change ask for the password again when the
        # person last gave it (or a code) longer ago than this.
        STEP_UP_MINUTES=15,  # the name authenticator apps show beside the code
        LIMIT_LINKS_PER_ADDRESS="20 per 10 minutes",  # unknown personal links from one IP address
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # uploads and posts
        MAX_FORM_PARTS=5000,  # fields a form may send (more than any page has)
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        BASE_URL="http://127.0.0.1:5000",  # the public address, for links in emails
        MAIL_SERVER="",  # SMTP host; empty keeps every message in the in-app outbox
        MAIL_PORT=587,
        MAIL_SECURITY="starttls",  # "starttls", "tls" (implicit TLS, port 465) or "none"
        MAIL_USERNAME="",
        MAIL_PASSWORD="",
        MAIL_FROM="surveyapp@localhost",  # the sender address
        MAIL_FROM_NAME="",  # the sender's name in From; empty: the programme's name
        MAIL_REPLY_TO="",  # where replies go (Reply-To); empty: to the sender address
        MAIL_DOMAIN="",  # the domain of each Message-ID; empty: the host of BASE_URL
        MAIL_SIGNATURE="",  # signs emails; the programme's "run by" when empty
        MAIL_PER_MINUTE=30,  # messages a minute at most (Exchange Online's limit); 0: no cap
        MAIL_LEASE_SECONDS=600,  # a message taken this long ago and never finished is retried
        # Host names a request may be addressed to (comma-separated in the environment);
        # None: the host of BASE_URL when served for real, anything when developing.
        TRUSTED_HOSTS=None,
        # Single sign-on: OpenID Connect providers by short name (comma-separated), each with
        # OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _NAME and optionally _ALLOW_DOMAINS
        # with _DEFAULT_ROLE (README, "Single sign-on"). Empty: passwords only.
        OIDC_PROVIDERS="",
        OIDC_CLOCK_LEEWAY_SECONDS=60,  # clock difference allowed with a provider's tokens
        PASSWORD_SIGN_IN=True,  # False: staff sign in with a provider only
    )
    app.config.from_prefixed_env("SURVEYAPP")
    if test_config is not None:
        app.config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _ensure_secret_key(app)
    _check_two_step(app)
    _check_single_sign_on(app)
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not _developing(app)
    app.config["TRUSTED_HOSTS"] = trusted_hosts(
        app.config["TRUSTED_HOSTS"], app.config["BASE_URL"], developing=_developing(app)
    )

    from surveyapp import cli, db
    from surveyapp.web import cookies, errors, filters, security

    security.init_app(app)  # first, so that its request timer starts before anything else
    cookies.init_app(app)
    db.init_app(app)
    csrf.init_app(app)
    filters.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)
    security.init_limits(app)
    cli.init_app(app)
    return app


def trusted_hosts(setting, base_url: str, *, developing: bool) -> list[str] | None:
    """The host names Flask accepts requests for (``TRUSTED_HOSTS``); None accepts any.

    Links are written from ``BASE_URL``, never from a request's Host header; refusing
    other hosts when served for real also stops a forged Host reaching anything else.
    """
    from urllib.parse import urlsplit

    if isinstance(setting, str):
        setting = [host.strip() for host in setting.split(",") if host.strip()]
    if setting:
        return list(setting)
    if developing:
        return None
    host = urlsplit(str(base_url)).hostname
    if not host:
        return None
    # Loopback too, so that a health check on the machine itself is answered.
    hosts = [f"[{host}]" if ":" in host else host, "127.0.0.1", "localhost", "[::1]"]
    return list(dict.fromkeys(hosts))


def _developing(app: Flask) -> bool:
    """True in debug or test mode, or when run from the ``flask`` command (``flask run``)."""
    return app.debug or app.testing or os.environ.get("FLASK_RUN_FROM_CLI") == "true"


def instance_path() -> Path:
    """The folder for the development database and key (SURVEYAPP_INSTANCE_PATH, or instance/)."""
    return Path(os.environ.get("SURVEYAPP_INSTANCE_PATH") or PROJECT_ROOT / "instance")


def default_database_url() -> str:
    """SURVEYAPP_DATABASE_URL, or the embedded default: SQLite in the instance folder."""
    return (
        os.environ.get("SURVEYAPP_DATABASE_URL")
        or f"sqlite:///{instance_path() / 'surveyapp.sqlite'}"
    )


def _ensure_secret_key(app: Flask) -> None:
    """Use SURVEYAPP_SECRET_KEY; in development, make one and keep it in the instance folder.

    :raises ConfigError: when the app is served (not run from the ``flask`` command,
        not in debug or test mode) without a secret key.
    """
    if app.config.get("SECRET_KEY"):
        return
    if not _developing(app):
        raise ConfigError(
            "SURVEYAPP_SECRET_KEY is not set. Set it to a long random value, for example the "
            'output of: python -c "import secrets; print(secrets.token_hex(32))"'
        )
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32), encoding="utf-8")
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text(encoding="utf-8").strip()


def _check_two_step(app: Flask) -> None:
    """:raises ConfigError: for a REQUIRE_TWO_STEP that is neither ``managers`` nor ``all``."""
    from surveyapp.auth.two_step import TwoStepProblem, check_requirement

    try:
        app.config["REQUIRE_TWO_STEP"] = check_requirement(app.config["REQUIRE_TWO_STEP"])
    except TwoStepProblem as problem:
        raise ConfigError(str(problem)) from None


def _check_single_sign_on(app: Flask) -> None:
    """:raises ConfigError: naming the variable of a provider that is missing or wrong."""
    from surveyapp.auth import sso_views

    setting = app.config["PASSWORD_SIGN_IN"]
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    value = words.get(str(setting).strip().lower())
    if value is None:
        raise ConfigError(f"SURVEYAPP_PASSWORD_SIGN_IN must be true or false, not “{setting}”.")
    app.config["PASSWORD_SIGN_IN"] = value
    sso_views.init_app(app)


def _register_blueprints(app: Flask) -> None:
    """One blueprint per area; the staff side's all live under /admin."""
    from surveyapp.account.views import bp as account_bp
    from surveyapp.audit.views import bp as audit_bp
    from surveyapp.auth.views import bp as auth_bp
    from surveyapp.evaluations.views import bp as evaluations_bp
    from surveyapp.packs.views import bp as pack_bp
    from surveyapp.people.views import bp as people_bp
    from surveyapp.privacy.views import bp as privacy_bp
    from surveyapp.quality.views import bp as quality_bp
    from surveyapp.questionnaires.views import bp as questionnaires_bp
    from surveyapp.reminders.views import bp as reminders_bp
    from surveyapp.reports.views import bp as reports_bp
    from surveyapp.respond.views import bp as respond_bp
    from surveyapp.results.views import bp as results_bp
    from surveyapp.sessions.views import bp as sessions_bp
    from surveyapp.staff.views import bp as staff_bp
    from surveyapp.waves.views import bp as waves_bp
    from surveyapp.web import permissions

    permissions.init_app(app)
    for blueprint in (
        auth_bp,
        account_bp,  # after auth_bp: its hooks need the signed-in person
        people_bp,
        questionnaires_bp,
        waves_bp,
        reminders_bp,
        results_bp,
        quality_bp,
        pack_bp,
        reports_bp,
        sessions_bp,
        evaluations_bp,
        staff_bp,
        audit_bp,
        privacy_bp,
        respond_bp,
    ):
        app.register_blueprint(blueprint)

    @app.get("/")
    def home():
        from flask import redirect, url_for

        return redirect(url_for("people.index"))

    @app.get("/health")
    def health():
        """Answer whether the app and its database are up, for load balancers and monitors:
        the database answers, holds every table, and is at the newest migration."""
        from surveyapp.db import get_session, schema_problem

        problem = schema_problem(get_session(), app.extensions)
        if problem:
            return {"status": "error", "problem": problem}, 503
        return {"status": "ok"}
