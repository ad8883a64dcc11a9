"""Error pages: plain words, never a stack trace or a database message."""

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: ("Something was wrong with that request", "Go back and try again."),
    403: ("You cannot see this page", "Your account does not have access to it."),
    404: ("Page not found", "If you typed the web address, check it is correct."),
    405: ("Page not found", "If you typed the web address, check it is correct."),
    413: ("That file is too large", "Files must be smaller than 2 MB."),
    422: ("Something was wrong with that request", "Go back and try again."),
    429: ("Too many attempts", "Wait a few minutes, then try again."),
}


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _http_error(error: HTTPException):
    code = error.code or 500
    title, advice = MESSAGES.get(code, ("Sorry, there is a problem", "Try again later."))
    if code == 400 and "CSRF" in (error.description or ""):
        title = "Your session has expired or the form is out of date"
        advice = "Go back, reload the page and try again. Nothing you sent was saved."
    return render_template("errors/error.html", title=title, advice=advice, code=code), code


def _unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return _http_error(error)
    from flask import current_app

    if current_app.debug or current_app.testing:
        raise error
    current_app.logger.exception("Unhandled error")
    return (
        render_template(
            "errors/error.html",
            title="Sorry, there is a problem with the service",
            advice="Try again later.",
            code=500,
        ),
        500,
    )
