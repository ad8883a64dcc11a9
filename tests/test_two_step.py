"""Two-step verification: who must use it, enrolling, codes used once, recovery codes, resets."""

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from surveyapp import create_app
from surveyapp.auth.two_step import step_of
from surveyapp.errors import ConfigError
from surveyapp.models import AuditEvent, RecoveryCode, User
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD, code_now, enrol_two_step, sign_in

ATTACKER = {"REMOTE_ADDR": "198.51.100.7"}


def _user(session, email="admin@example.org", role="admin", enrolled=False):
    user = accounts.create_user(session, email=email, password=PASSWORD, role=role, now=NOW)
    if enrolled:
        enrol_two_step(session, user)
    session.commit()
    return user


def _password(client, email="admin@example.org", url="/auth/login", **extra):
    return client.post(url, data={"email": email, "password": PASSWORD}, **extra)


def _actions(session):
    session.expire_all()
    return session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def _secret_on(page: str) -> str:
    found = re.search(r'<code class="app-secret" id="two-step-secret">([A-Z2-7 ]+)</code>', page)
    return found.group(1).replace(" ", "")


def test_an_administrator_cannot_reach_an_admin_page_before_enrolling(client, session):
    _user(session)

    password = _password(client)
    admin_page = client.get("/admin/programmes")
    code_page = client.get("/auth/two-step")
    account = client.get("/auth/account")

    assert password.status_code == 303 and password.location == "/auth/two-step/set-up"
    assert admin_page.status_code == 303 and admin_page.location == "/auth/two-step"
    assert code_page.location == "/auth/two-step/set-up"
    assert account.status_code == 303 and account.location == "/auth/two-step"
    with client.session_transaction() as stored:
        assert "user_id" not in stored


def test_enrolling_shows_a_qr_code_and_the_secret_and_needs_a_first_code(client, session):
    user = _user(session)
    _password(client)

    page = client.get("/auth/two-step/set-up")
    secret = _secret_on(page.text)
    wrong = client.post("/auth/two-step/set-up", data={"code": "000000"})
    right = client.post(
        "/auth/two-step/set-up", data={"code": pyotp.TOTP(secret).generate_otp(step_of(NOW))}
    )
    admin_page = client.get("/admin/programmes")

    assert page.status_code == 200
    assert '<svg width="' in page.text and "QR code for your authenticator app" in page.text
    assert "https://" not in page.text.split("<svg", 1)[1].split("</svg>", 1)[0]  # drawn here
    assert wrong.status_code == 422 and "The code is not right" in wrong.text
    assert right.status_code == 200 and "Save your recovery codes" in right.text
    codes = re.findall(r"<li><code>([0-9a-f]{4}(?:-[0-9a-f]{4}){3})</code></li>", right.text)
    assert len(set(codes)) == 10
    assert admin_page.status_code == 200
    session.expire_all()
    stored = session.get(User, user.id)
    assert stored.totp_secret == secret and stored.two_step_enrolled_at == NOW
    assert stored.totp_last_step == step_of(NOW)
    hashes = session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10
    assert not any(code.replace("-", "") in digest for code in codes for digest in hashes)
    assert _actions(session)[-2:] == ["two_step.enrol", "sign_in"]
    # Shown once: the page asked for again has no codes, only the account's state.
    assert "Save your recovery codes" not in client.get("/auth/two-step/set-up").text


def test_the_second_step_returns_to_the_page_asked_for(client, session):
    user = _user(session, enrolled=True)

    password = _password(client, url="/auth/login?next=/admin/questionnaires/leadership_culture")
    code = client.post("/auth/two-step", data={"code": code_now(user)})

    assert password.location == "/auth/two-step"
    assert code.status_code == 303 and code.location == "/admin/questionnaires/leadership_culture"
    assert _actions(session) == ["sign_in.password", "sign_in"]


def test_a_code_is_refused_the_second_time(client, session):
    user = _user(session, enrolled=True)
    _password(client)
    first = client.post("/auth/two-step", data={"code": code_now(user)})
    client.post("/auth/logout")

    _password(client)
    again = client.post("/auth/two-step", data={"code": code_now(user)})
    earlier = client.post(
        "/auth/two-step", data={"code": code_now(user, NOW - timedelta(seconds=30))}
    )

    assert first.status_code == 303
    assert again.status_code == 422 and earlier.status_code == 422
    assert "or was used already" in again.text
    assert client.get("/admin/programmes").location == "/auth/two-step"
    assert _actions(session)[-2:] == ["two_step.failed", "two_step.failed"]


def test_a_code_from_a_phone_a_little_slow_or_fast_is_accepted_but_not_older(client, session):
    user = _user(session, enrolled=True)
    _password(client)

    too_old = client.post(
        "/auth/two-step", data={"code": code_now(user, NOW - timedelta(minutes=2))}
    )
    slow = client.post("/auth/two-step", data={"code": code_now(user, NOW - timedelta(seconds=30))})

    assert too_old.status_code == 422 and slow.status_code == 303


def test_a_recovery_code_works_once_and_says_how_many_are_left(client, session):
    _user(session)
    _password(client)
    secret = _secret_on(client.get("/auth/two-step/set-up").text)
    first = pyotp.TOTP(secret).generate_otp(step_of(NOW))
    shown = client.post("/auth/two-step/set-up", data={"code": first})
    codes = re.findall(r"<li><code>([0-9a-f-]{19})</code></li>", shown.text)
    client.post("/auth/logout")

    _password(client)
    used = client.post("/auth/two-step", data={"code": codes[3].upper().replace("-", " ")})
    landing = client.get(used.location, follow_redirects=True)
    client.post("/auth/logout")
    _password(client)
    twice = client.post("/auth/two-step", data={"code": codes[3]})

    assert used.status_code == 303
    assert "You have 9 recovery codes left" in landing.text
    assert twice.status_code == 422
    session.expire_all()
    assert session.scalar(select(func.count()).where(RecoveryCode.used_at.is_not(None))) == 1
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "two_step.recovery_code")
    ).all()
    assert [event.summary for event in events] == ["Recovery code used; 9 left"]


def test_other_roles_sign_in_with_a_password_unless_the_setting_says_everyone(make_app, session):
    _user(session, email="eva@example.org", role="evaluator")

    default = _password(make_app().test_client(), "eva@example.org")
    everyone_client = make_app(REQUIRE_TWO_STEP="all").test_client()
    everyone = _password(everyone_client, "eva@example.org")
    page = everyone_client.get("/admin/programmes")

    assert default.status_code == 303 and default.location == "/admin/"
    assert everyone.location == "/auth/two-step/set-up"
    assert page.location == "/auth/two-step"


def test_someone_made_an_administrator_is_sent_to_enrol_at_their_next_page(client, session):
    user = _user(session, email="eva@example.org", role="evaluator")
    assert sign_in(client, session, "eva@example.org").location == "/admin/"

    user.role = "admin"
    session.commit()
    page = client.get("/admin/programmes")

    assert page.status_code == 303 and page.location == "/auth/two-step/set-up"
    assert client.get("/auth/two-step/set-up").status_code == 200


def test_a_setting_that_cannot_work_stops_the_app():
    with pytest.raises(ConfigError, match="SURVEYAPP_REQUIRE_TWO_STEP must be one of"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "REQUIRE_TWO_STEP": "nobody"})


def test_wrong_codes_are_limited_like_passwords(client, session):
    user = _user(session, enrolled=True)
    _password(client, environ_overrides=ATTACKER)

    wrong = [
        client.post("/auth/two-step", data={"code": f"{n:06d}"}, environ_overrides=ATTACKER)
        for n in range(10)
    ]
    right = client.post("/auth/two-step", data={"code": code_now(user)}, environ_overrides=ATTACKER)

    assert [response.status_code for response in wrong] == [422] * 10
    assert right.status_code == 429
    assert client.get("/admin/programmes").location == "/auth/two-step"


def test_an_administrator_resets_another_persons_two_step_but_not_their_own(client, auth, session):
    other = _user(session, email="pm@example.org", role="programme_manager", enrolled=True)
    auth.login()
    me = accounts.find_user(session, "admin@example.org")

    reset = client.post(f"/admin/users/{other.id}/two-step/reset")
    own = client.post(f"/admin/users/{me.id}/two-step/reset")

    assert reset.status_code == 303 and own.location == "/auth/account"
    session.expire_all()
    other, me = session.get(User, other.id), session.get(User, me.id)
    assert other.totp_secret is None and not other.has_two_step and other.session_version == 1
    assert me.has_two_step
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "two_step.reset")).all()
    assert [event.summary for event in events] == [
        "pm@example.org: two-step verification reset by an administrator"
    ]
    # Their next sign-in asks them to set it up again.
    assert _password(client.application.test_client(), "pm@example.org").location == (
        "/auth/two-step/set-up"
    )


def test_resetting_ones_own_needs_a_code(client, auth, session):
    auth.login()
    me = accounts.find_user(session, "admin@example.org")

    without = client.post("/auth/two-step/reset", data={"code": "123456"})
    session.expire_all()
    still_on = session.get(User, me.id).has_two_step
    with_code = client.post(
        "/auth/two-step/reset", data={"code": code_now(me, NOW + timedelta(seconds=30))}
    )

    assert without.status_code == 422 and still_on
    assert with_code.status_code == 303 and with_code.location == "/auth/login"
    session.expire_all()
    assert not session.get(User, me.id).has_two_step
    assert client.get("/admin/programmes").status_code == 303
