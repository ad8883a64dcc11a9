"""The web-security layer: response headers, the request log, proxies and rate limits.

Everything here wraps the whole app, so views stay unaware of it:

- every response says what the browser may load (Content-Security-Policy: only
  this site's own scripts and styles, nothing inline) and that pages must not
  be framed, sniffed or cached;
- one line per request goes to the ``surveyapp.requests`` logger, naming the
  URL *rule* (``/r/<token>``) rather than the path, so personal links and query
  strings never reach a log; and the lines other loggers write about requests
  (the development server's, gunicorn's access and error logs, Flask's error log)
  show ``/r/<token>`` in place of every personal link's token;
- sign-in and personal links are rate-limited against guessing, counting only
  the attempts that fail.
"""

import hashlib
import logging
import math
import re
import time
from urllib.parse import unquote_to_bytes

import click
from flask import Flask, abort, current_app, g, request
from flask.wrappers import Response
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

request_log = logging.getLogger("surveyapp.requests")
limit_log = logging.getLogger("surveyapp.limits")
#: Loggers that write addresses as requested: werkzeug's development server (its request
#: lines), gunicorn's access and error logs, and Flask's own (``Exception on /r/...``).
ADDRESS_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "surveyapp")
#: The token of a personal link in an address (``/r/<token>``, ``/r/<token>/no-reminders``);
#: the participant's own pages under ``/r/`` carry none.
_TOKEN_IN_ADDRESS = re.compile(
    r"(?<=/r/)(?!(?:page|check-answers|submit|complete)(?![^/?#\s\"'\]]))[^/?#\s\"'\]]+"
)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
#: A year; sent only on HTTPS responses, which a browser then insists on for this host.
HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    """Attach proxy handling, headers, the request log and the rate limits to ``app``.

    Call before other extensions, so that the request timer starts first.
    """
    _trust_proxies(app)
    app.url_map.converters["int"] = DatabaseInt  # before any route is added
    app.before_request(_start_timer)
    app.before_request(_refuse_undecodable_form)
    app.after_request(_security_headers)
    app.after_request(_log_request)
    if request_log.level == logging.NOTSET:
        request_log.setLevel(logging.INFO)
    for name in ADDRESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, HideTokens) for existing in logger.filters):
            logger.addFilter(HideTokens())
    app.logger  # noqa: B018 - creating Flask's logger gives "surveyapp.*" a handler when none is set


class DatabaseInt(IntegerConverter):
    """``<int:...>`` in a URL, up to the largest id a database column holds: a longer number
    is "Page not found", not an overflow deep in the database driver."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class TooManyFields(RequestEntityTooLarge):
    """A form that sent more fields than any page of the product has (``MAX_FORM_PARTS``)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit


def _refuse_undecodable_form() -> None:
    """Answer 400 to a form whose fields are not UTF-8, instead of storing the escapes as text."""
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return
    pairs = request.get_data(cache=True).split(b"&")
    limit = current_app.config["MAX_FORM_PARTS"]
    if len(pairs) > limit:
        raise TooManyFields(limit)
    for pair in pairs:
        try:
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            abort(400)


def is_participant_path(path: str) -> bool:
    """True for the participant's pages, reached through a personal link (``/r/...``)."""
    return path == "/r" or path.startswith("/r/")


# Proxies ---------------------------------------------------------------------------------------


def _trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For/-Proto/-Host/-Port only from as many proxies as PROXY_FIX says.

    Without it (the default), a client could claim to be on HTTPS or at another
    address simply by sending the headers itself.
    """
    hops = int(app.config.get("PROXY_FIX") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


# Headers ---------------------------------------------------------------------------------------


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"  # frame-ancestors, for browsers that predate it
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    participant = is_participant_path(request.path)
    headers["Referrer-Policy"] = "no-referrer" if participant else "same-origin"
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static":
        # Personal pages and admin pages alike: never kept by the browser or a proxy.
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


# Request log -----------------------------------------------------------------------------------


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    """One line: method, URL rule (never the path or query string), status, milliseconds."""
    started = g.get("request_started")
    elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    request_log.info("%s %s %s %.1fms", request.method, rule, response.status_code, elapsed)
    return response


def hide_tokens(text: str) -> str:
    """``GET /r/<token> HTTP/1.1`` for ``GET /r/Zx8...Q HTTP/1.1``: no personal link in a log."""
    return _TOKEN_IN_ADDRESS.sub("<token>", text)


class HideTokens(logging.Filter):
    """Rewrite a log record so that no personal link's token reaches any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # a malformed record: logging reports it
            return True
        hidden = hide_tokens(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


# Rate limits -----------------------------------------------------------------------------------


def init_limits(app: Flask) -> Limiter:
    """Rate-limit sign-in and personal links; call once the blueprints are registered.

    Each app gets its own limiter, so that apps built side by side (tests) keep
    their own counts. The counts live in RATELIMIT_STORAGE_URI: ``memory://``
    is per process, so with several gunicorn workers use a shared store such as
    ``redis://localhost:6379`` (or each worker counts on its own).
    """
    check_limit_store(app)
    limiter = Limiter(
        key_func=get_remote_address,
        strategy=app.config.get("RATELIMIT_STRATEGY", "moving-window"),
    )
    limiter.init_app(app)
    app.extensions["surveyapp.limiter"] = limiter

    def failed_sign_in(response: Response) -> bool:
        return response.status_code != 303  # a successful sign-in redirects

    def unknown_link(response: Response) -> bool:
        return response.status_code == 404

    def setting(name: str):
        return lambda: current_app.config[name]

    views = app.view_functions
    sign_in = views["auth.login"]
    for limit in (
        limiter.limit(
            setting("LIMIT_SIGN_IN_PER_ACCOUNT"),
            key_func=_account_key,
            methods=["POST"],
            scope="account",
            deduct_when=failed_sign_in,
        ),
        limiter.limit(
            setting("LIMIT_SIGN_IN_PER_ADDRESS"),
            methods=["POST"],
            scope="address",
            deduct_when=failed_sign_in,
        ),
    ):
        sign_in = limit(sign_in)
    views["auth.login"] = sign_in

    # "Forgot your password?": every request counts, so that no one is sent a flood of emails.
    forgot = views["auth.password_forgot"]
    for limit in (
        limiter.limit(
            setting("LIMIT_SIGN_IN_PER_ACCOUNT"),
            key_func=_account_key,
            methods=["POST"],
            scope="forgot-account",
        ),
        limiter.limit(
            setting("LIMIT_SIGN_IN_PER_ADDRESS"), methods=["POST"], scope="forgot-address"
        ),
    ):
        forgot = limit(forgot)
    views["auth.password_forgot"] = forgot

    # Codes of two-step verification: a wrong one counts like a wrong password, per account
    # and per address, on the second step, on enrolment and on resetting one's own.
    def wrong_code(response: Response) -> bool:
        return response.status_code == 422

    for endpoint in (
        "auth.two_step_code",
        "auth.two_step_setup",
        "auth.two_step_reset_own",
        "auth.confirm_password",
    ):
        view = views[endpoint]
        for limit in (
            limiter.limit(
                setting("LIMIT_SIGN_IN_PER_ACCOUNT"),
                key_func=_code_account_key,
                methods=["POST"],
                scope="code-account",
                deduct_when=wrong_code,
            ),
            limiter.limit(
                setting("LIMIT_SIGN_IN_PER_ADDRESS"),
                methods=["POST"],
                scope="code-address",
                deduct_when=wrong_code,
            ),
        ):
            view = limit(view)
        views[endpoint] = view

    links = limiter.shared_limit(
        setting("LIMIT_LINKS_PER_ADDRESS"), scope="participant-links", deduct_when=unknown_link
    )
    for endpoint in ("respond.link", "respond.opt_out"):
        views[endpoint] = links(views[endpoint])
    return limiter


def check_limit_store(app: Flask) -> None:
    """Refuse to start on a rate-limit store that cannot be used; say when counts are per process.

    :raises ConfigError: naming RATELIMIT_STORAGE_URI when its scheme is unknown, the
        package it needs is missing (``pip install 'surveyapp[redis]'`` for ``redis://``)
        or the store does not answer.
    """
    from limits.errors import ConfigurationError
    from limits.storage import MemoryStorage, storage_from_string

    from surveyapp.errors import ConfigError

    uri = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    shown = _without_password(uri)
    setting = "SURVEYAPP_RATELIMIT_STORAGE_URI"
    try:
        storage = storage_from_string(uri, **(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {}))
    except ConfigurationError as exc:
        hint = ""
        if uri.startswith(("redis", "async+redis")):
            hint = " Install the Redis extra: pip install 'surveyapp[redis]'."
        raise ConfigError(
            f"{setting} is “{shown}”, which cannot be used as the rate-limit store ({exc}).{hint}"
        ) from None
    if isinstance(storage, MemoryStorage):
        # Said when served (gunicorn, any WSGI server), not by every `flask ...` command.
        if not app.testing and click.get_current_context(silent=True) is None:
            limit_log.warning(
                "Rate limits are counted in memory (%s=memory://), separately in every "
                "process: with several gunicorn workers or machines each counts on its own, "
                "so a guesser gets the limit once per process. Set it to a shared store, for "
                "example redis://localhost:6379.",
                setting,
            )
        return
    try:
        answered = storage.check()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the store is the same problem
        answered, reason = False, f"{type(exc).__name__}: {exc}"
    else:
        reason = "it did not answer"
    if not answered:
        raise ConfigError(
            f"{setting} is “{shown}”, but the rate-limit store there cannot be reached "
            f"({reason}). Start it, or correct the setting."
        )


def _without_password(uri: str) -> str:
    """The store's address as it may be shown in a message: any password replaced by ***."""
    return re.sub(r"(?<=://)([^:/@]*):[^@/]*@", r"\1:***@", uri)


def _account_key() -> str:
    """The account a sign-in names, hashed so that no email address sits in the counter store."""
    email = request.form.get("email", "").strip().lower()
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def _code_account_key() -> str:
    """The account a code is typed for: the one signed in, or whose password was accepted."""
    user = g.get("user") or g.get("pending_user")
    return f"code-account:{user.id if user is not None else '-'}"


def retry_after_seconds() -> int | None:
    """Seconds until the limit this request broke lets the next attempt through."""
    limiter = current_app.extensions.get("surveyapp.limiter")
    breached = limiter.current_limit if limiter is not None else None
    if breached is None:
        return None
    return max(1, math.ceil(breached.reset_at - time.time()))
