"""Error pages: plain words and a way back, never a stack trace or a database message.

Outside development every error, including an unexpected one, is answered
with the same GOV.UK-style page. In debug mode (and in tests, unless
PROPAGATE_EXCEPTIONS is False) unexpected errors are raised, for the debugger.
"""

import math

from flask import Flask, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

from surveyapp.web import security

MESSAGES = {
    400: ("Something was wrong with that request", "Go back and try again."),
    403: ("You cannot see this page", "Your account does not have access to it."),
    404: ("Page not found", "If you typed the web address, check it is correct."),
    405: ("Page not found", "If you typed the web address, check it is correct."),
    409: (
        "This cannot be changed",
        "The person's details were removed on purpose, so they cannot be typed in again here.",
    ),
    413: ("That file is too large", "Choose a smaller file and try again."),
    422: (
        "Something was wrong with that request",
        "Go back, check what you entered and try again.",
    ),
    429: ("Too many attempts", "Wait a few minutes, then try again."),
    500: ("Sorry, there is a problem with the service", "Try again later."),
}
OTHER = ("Sorry, there is a problem", "Try again later.")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, _unexpected)


def http_error(error: HTTPException):
    """Render an HTTP error as a page, with advice that fits it."""
    code = error.code or 500
    title, advice = MESSAGES.get(code, OTHER)
    headers = {}
    if isinstance(error, SecurityError):
        # A Host this service does not answer for (TRUSTED_HOSTS): no page can link
        # anywhere from such a request, so the answer is plain text.
        body = f"{title}. This service does not answer for the address asked for.\n"
        return body, code, {"Content-Type": "text/plain; charset=utf-8"}
    if isinstance(error, CSRFError):
        title = "Your session has expired or the form is out of date"
        advice = "Go back, reload the page and try again. Nothing you sent was saved."
        if security.is_participant_path(request.path):
            advice = (
                "Open the link in your email again to carry on. Pages you finished before "
                "are saved; the page you just sent was not."
            )
    elif isinstance(error, security.TooManyFields):
        title = "That form sent too many answers"
        advice = (
            f"A form can send at most {error.limit:,} fields; no page of this service has "
            "as many. Go back, reload the page and try again. Nothing you sent was saved."
        )
    elif code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        if limit:
            advice = (
                f"Files must be smaller than {_size(limit)}. Choose a smaller file and try again."
            )
    elif code == 429:
        seconds = security.retry_after_seconds()
        advice = _too_many_advice(seconds)
        if seconds is not None:
            headers["Retry-After"] = str(seconds)
    return _page(title, advice, code), code, headers


def _unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return http_error(error)
    if _propagates(current_app):
        raise error
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    # The traceback goes to the log only; the page says nothing about what failed.
    current_app.logger.exception("Unhandled error: %s %s", request.method, rule)
    title, advice = MESSAGES[500]
    return _page(title, advice, 500), 500


def _propagates(app: Flask) -> bool:
    configured = app.config.get("PROPAGATE_EXCEPTIONS")
    return configured if configured is not None else (app.debug or app.testing)


def _page(title: str, advice: str, code: int) -> str:
    participant = security.is_participant_path(request.path)
    return render_template(
        "errors/error.html",
        title=title,
        advice=advice,
        code=code,
        participant=participant,
        signed_in=g.get("user") is not None,
    )


def _too_many_advice(seconds: int | None) -> str:
    wait = _minutes(seconds) if seconds else "a few minutes"
    if security.is_participant_path(request.path):
        return (
            "There have been too many attempts to open links that do not work from your "
            f"network. Wait {wait}, then open the link in your email again. Check that you "
            "copied the whole link."
        )
    if request.endpoint == "auth.login":
        return f"There have been too many attempts to sign in. Wait {wait}, then try again."
    return f"Wait {wait}, then try again."


def _minutes(seconds: int) -> str:
    # The limiter rounds its reset time up to the next whole second: allow for that.
    minutes = max(1, math.ceil((seconds - 1) / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _size(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    return f"{megabytes:g} MB" if megabytes >= 1 else f"{math.ceil(limit / 1024)} KB"
