"""Two-step verification of staff sign-in (Flask-free): time-based codes, recovery codes.

A person's authenticator app and the server share a secret (RFC 6238 TOTP with pyotp:
six digits, a new code every 30 seconds). A code is accepted for the time-step it
belongs to and the one before or after (clocks drift), and only if its step is later than
the last one accepted, so a code seen over someone's shoulder cannot be used again.

Ten recovery codes are made at enrolment, shown once, and kept only as salted SHA-256
hashes: each is 64 random bits, so a stolen table cannot be searched for them.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from surveyapp.models import RecoveryCode, User

#: Roles that may never sign in with a password alone.
REQUIRED_ROLES = ("admin", "programme_manager")
#: Values of the REQUIRE_TWO_STEP setting: the roles above (the default), or everyone.
REQUIREMENTS = ("managers", "all")
RECOVERY_CODES = 10
STEP_SECONDS = 30
#: Steps either side of now whose codes are accepted: one, for a phone's clock a little off.
DRIFT_STEPS = 1


class TwoStepProblem(ValueError):
    """A setting of two-step verification that cannot work."""


def check_requirement(setting: str) -> str:
    """:raises TwoStepProblem: for a REQUIRE_TWO_STEP value that is neither of REQUIREMENTS."""
    value = (setting or "managers").strip().lower()
    if value not in REQUIREMENTS:
        raise TwoStepProblem(
            f"SURVEYAPP_REQUIRE_TWO_STEP must be one of {', '.join(REQUIREMENTS)}, not “{setting}”."
        )
    return value


def is_required(user: User, setting: str) -> bool:
    """Whether ``user`` must use two-step verification under the REQUIRE_TWO_STEP setting."""
    return check_requirement(setting) == "all" or user.role in REQUIRED_ROLES


def is_asked(user: User, setting: str) -> bool:
    """Whether a password sign-in of ``user`` needs a second step (a code, or enrolling)."""
    return user.has_two_step or is_required(user, setting)


def step_of(now: datetime) -> int:
    """The TOTP time-step of ``now`` (naive UTC)."""
    return calendar.timegm(now.utctimetuple()) // STEP_SECONDS


def start_enrolment(session: Session, user: User) -> str:
    """Give ``user`` a secret to put in their app, keeping one already given; return it."""
    if user.totp_secret is None or user.has_two_step:
        user.totp_secret = pyotp.random_base32()
        user.two_step_enrolled_at = None
        user.totp_last_step = None
        session.flush()
    return user.totp_secret


def app_link(user: User, issuer: str) -> str:
    """The ``otpauth://`` address that an authenticator app reads from the QR code."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_code_svg(link: str) -> str:
    """The QR code of ``link`` as an inline SVG element, made here (no outside service)."""
    return segno.make(link, error="m").svg_inline(
        scale=5, dark="#0b0c0c", light="#ffffff", title="QR code for your authenticator app"
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, as a person types it into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = step_of(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(session: Session, user: User, code: str, now: datetime) -> bool:
    """Accept a code from the app once: True, and the step remembered; False otherwise."""
    if user.totp_secret is None:
        return False
    step = _matching_step(user.totp_secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    session.flush()
    return True


def confirm_enrolment(session: Session, user: User, code: str, now: datetime) -> list[str] | None:
    """Finish enrolment with the first code from the app; return the recovery codes to show
    once, or None when the code is wrong."""
    if user.has_two_step or not check_code(session, user, code, now):
        return None
    user.two_step_enrolled_at = now
    return new_recovery_codes(session, user, now)


def new_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    """Replace ``user``'s recovery codes with ten new ones; return them, for showing once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(8)
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
        session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw), created_at=now))
    session.flush()
    return codes


def _hash(raw: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    return f"{salt}${hashlib.sha256((salt + raw).encode()).hexdigest()}"


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch in "0123456789abcdef")


def looks_like_recovery_code(code: str) -> bool:
    return len(_normalise_recovery(code)) == 16 and len("".join(code.split())) > 6


def use_recovery_code(session: Session, user: User, code: str, now: datetime) -> int | None:
    """Spend one recovery code: the number still unused, or None when it is not one of them
    (or was used already)."""
    raw = _normalise_recovery(code)
    if len(raw) != 16:
        return None
    unused = session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    for stored in unused:
        salt = stored.code_hash.split("$", 1)[0]
        if hmac.compare_digest(_hash(raw, salt), stored.code_hash):
            stored.used_at = now
            session.flush()
            return len(unused) - 1
    return None


def recovery_codes_left(session: Session, user: User) -> int:
    return session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def check_any_code(session: Session, user: User, code: str, now: datetime):
    """A code from the app or a recovery code: ("app", None), ("recovery", left) or None."""
    if looks_like_recovery_code(code):
        left = use_recovery_code(session, user, code, now)
        return None if left is None else ("recovery", left)
    return ("app", None) if check_code(session, user, code, now) else None


def reset(session: Session, user: User) -> None:
    """Forget ``user``'s app and recovery codes, and end their sessions: they enrol again
    at their next sign-in if they must."""
    user.totp_secret = None
    user.two_step_enrolled_at = None
    user.totp_last_step = None
    user.session_version += 1
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
