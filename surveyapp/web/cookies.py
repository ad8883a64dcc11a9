"""The session cookie, sent again only when it changed or is getting old.

Flask re-sends a permanent session's cookie with every response, so that its expiry moves
with each request: one more signature (and often compression) per page, and a Set-Cookie
header on every participant page. Here the cookie is written when the session changed, and
otherwise at most once every :data:`REFRESH_AFTER`, which keeps the expiry moving just the
same, only a minute less exact. The cookie's signed time (itsdangerous' timestamp) says how
old it is; nothing more is kept in it.
"""

from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature

#: A permanent session's cookie unchanged for this long is sent again, with a new expiry.
REFRESH_AFTER = timedelta(minutes=1)


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed cookie session, minus the re-sending of an unchanged, fresh cookie."""

    def open_session(self, app: Flask, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.signed_at = signed_at
        return session

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or datetime.now(UTC) - signed_at >= REFRESH_AFTER


def init_app(app: Flask) -> None:
    app.session_interface = SessionCookie()
