"""In Chromium: storing questionnaire versions, previewing a questionnaire, and signing in and out."""

import hashlib
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from surveyapp import PROJECT_ROOT, create_app
from surveyapp.db import Base
from surveyapp.models import (
    Answer,
    AuditEvent,
    DraftAnswer,
    Invitation,
    QuestionnaireVersion,
    Response,
    User,
)
from surveyapp.staff import operations as accounts
from tests.browser import conftest as browser_fixtures
from tests.browser.conftest import sign_in, type_code
from tests.conftest import NOW, PASSWORD, enrol_two_step

pytestmark = pytest.mark.browser

SHIPPED = sorted((PROJECT_ROOT / "questionnaires").glob("*.yaml"))


def choose(page, question_id: str, label: str) -> None:
    """Click the label of one radio or checkbox within a question, as a person would."""
    page.locator(f"#question-{question_id} label:text-is('{label}')").click()


def chosen(page, question_id: str) -> list[str]:
    """The labels of the ticked inputs within a question."""
    return page.locator(f"#question-{question_id} input:checked + label").all_inner_texts()


def nothing_answered(live_server) -> bool:
    with live_server.sessionmaker() as session:
        return all(
            session.scalar(select(func.count()).select_from(model)) == 0
            for model in (Answer, DraftAnswer, Response, Invitation)
        )


# Questionnaire versions --------------------------------------------------------------------


@pytest.mark.posts("/admin/questionnaires/load")
def test_storing_versions_stores_each_shipped_file_once(browser, live_server):
    page = browser.new_page()
    sign_in(page, live_server.url)
    page.click("nav >> text=Questionnaires")
    page.wait_for_selector("h1:has-text('Questionnaires')")
    assert page.locator("td:has-text('Not stored yet')").count() == len(SHIPPED)

    page.click("button:has-text('Check files and store new versions')")

    page.wait_for_selector(".govuk-notification-banner--success")
    banner = page.inner_text(".govuk-notification-banner--success")
    assert f"Files checked. {len(SHIPPED)} new version(s) stored." in banner
    assert page.locator("td:has-text('Not stored yet')").count() == 0
    assert page.locator("td:text-is('Version 1')").count() == len(SHIPPED)
    with live_server.sessionmaker() as session:
        admin = session.scalar(select(User).where(User.email == "admin@example.org"))
        versions = session.scalars(
            select(QuestionnaireVersion).order_by(QuestionnaireVersion.questionnaire_key)
        ).all()
        assert [v.questionnaire_key for v in versions] == [path.stem for path in SHIPPED]
        for version, path in zip(versions, SHIPPED, strict=True):
            assert version.number == 1
            assert version.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
            assert version.source_text == path.read_text(encoding="utf-8")
            assert version.loaded_by_id == admin.id
            assert version.loaded_at == NOW
        logged = session.scalars(
            select(AuditEvent.summary).where(AuditEvent.action == "questionnaire.load")
        ).all()
        assert sorted(logged) == sorted(f"{path.stem} version 1 loaded" for path in SHIPPED)
    page.close()

    # Pressed again, with JavaScript off this time: the files have not changed.
    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    sign_in(plain, live_server.url)
    plain.goto(f"{live_server.url}/admin/questionnaires")
    plain.click("button:has-text('Check files and store new versions')")

    banner = plain.inner_text(".govuk-notification-banner--success")
    assert "Files checked. 0 new version(s) stored." in banner
    with live_server.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == len(
            SHIPPED
        )
    context.close()


# Preview ------------------------------------------------------------------------------------


@pytest.mark.posts(
    "/admin/questionnaires/<key>/preview/<page_id>",
    "/admin/questionnaires/<key>/preview/start-again",
)
def test_previewing_peer_support_pages_checks_answers_and_saves_nothing(browser, live_server):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url)
    page.click("nav >> text=Questionnaires")
    page.click("a:text-is('Peer support programme: questionnaire at the start')")
    page.click("text=Preview as a participant")
    page.click("text=Start now")
    page.wait_for_selector("h1:has-text('Part A: about you')")
    page.evaluate("window.notReloaded = true")

    # A blank page: every required question is named, and the page is swapped in place.
    page.click("button:has-text('Continue')")
    page.wait_for_selector(".govuk-error-summary")
    assert page.evaluate("window.notReloaded") is True
    summary = page.inner_text(".govuk-error-summary")
    assert "There is a problem" in summary
    assert "Are you taking part in the programme as a peer or as a peer supporter?" in summary
    assert "How many months have you been in your current job?" in summary
    assert page.locator("#question-role .govuk-error-message").is_visible()
    assert nothing_answered(live_server)

    # Part A: every question, the "other" boxes included.
    choose(page, "role", "Peer supporter: I trained to plan and run the networking events")
    choose(page, "region", "South East")
    choose(page, "organisation_type", "Another type of organisation")
    page.fill("#organisation_type_other", "Children's trust")
    choose(page, "current_post", "Another job")
    page.fill("#current_post_other", "Principal social worker")
    page.fill("#months_in_post", "14")
    choose(page, "previous_management_post", "Yes")
    choose(page, "gender", "Female")
    choose(page, "age_band", "41 to 50")
    choose(page, "ethnic_group", "White")
    page.click("button:has-text('Continue')")

    page.wait_for_selector("h1:has-text('Part B: your professional background')")
    assert page.evaluate("window.notReloaded") is True
    choose(page, "professional_background", "Social work")
    page.fill("#years_as_manager", "6")
    agreements = {
        "id_social_worker": "Strongly agree",
        "id_leader": "Agree",
        "id_influence": "Neither agree nor disagree",
        "id_support_at_work": "Disagree",
        "id_isolated": "Strongly disagree",
        "id_other_managers_peers": "Agree",
    }
    for row_id, label in agreements.items():
        choose(page, row_id, label)
    assert {row_id: chosen(page, row_id) for row_id in agreements} == {
        row_id: [label] for row_id, label in agreements.items()
    }
    page.click("button:has-text('Continue')")

    page.wait_for_selector("h1:has-text('Part C: your motivation and expectations')")
    choose(page, "motivation", "5 (very high)")
    choose(page, "aims_clarity", "4")
    choose(page, "how_joined", "My manager suggested it and I agreed")
    choose(page, "hoped_gains", "Explore complex issues")
    choose(page, "hoped_gains", "Support in leading change")
    choose(page, "hoped_gains", "Something else")
    page.fill("#hoped_gains_other", "A mentor")
    for row_id in (
        "expect_use_at_work",
        "expect_share_with_staff",
        "expect_prioritise",
        "expect_time_allowed",
        "expect_stay_eight_months",
    ):
        choose(page, row_id, "Agree")
    choose(page, "other_peer_support", "Yes")
    choose(page, "expected_barriers", "Travelling to the events")
    choose(page, "expected_barriers", "Changing job")
    page.fill("#worthwhile_if", "Meeting managers who face the same pressures.")
    page.click("button:has-text('Continue')")

    # "Yes" brings in a question on the same page: the page says so and keeps every answer.
    page.wait_for_selector("#revealed-note")
    assert "there is another question on this page" in page.inner_text("#revealed-note")
    assert chosen(page, "hoped_gains") == [
        "Explore complex issues",
        "Support in leading change",
        "Something else",
    ]
    assert page.input_value("#hoped_gains_other") == "A mentor"
    page.fill("#other_peer_support_detail", "A regional managers' forum run by the ADCS.")
    page.click("button:has-text('Continue')")

    page.wait_for_selector("h1:has-text('Your role as a peer supporter')")
    assert nothing_answered(live_server)

    page.goto(f"{live_server.url}/admin/questionnaires/peer_support_baseline/preview/check-answers")
    rows = dict(
        zip(
            page.locator(".govuk-summary-list__key").all_inner_texts(),
            page.locator(".govuk-summary-list__value").all_inner_texts(),
            strict=True,
        )
    )
    assert rows["Which region do you work in?"] == "South East"
    assert rows["What type of organisation do you work for?"] == (
        "Another type of organisation (Children's trust)"
    )
    assert rows["How many months have you been in your current job?"] == "14 months"
    assert rows["What is your ethnic group?"] == "White"
    identity = "How far do you agree with these statements about you and your work? – "
    assert rows[identity + "I often feel isolated in my job as a manager."] == "Strongly disagree"
    assert rows[
        identity + "I have enough influence in my organisation to make changes happen."
    ] == ("Neither agree nor disagree")
    assert rows["What are you hoping to gain from peer support?"] == (
        "Explore complex issues, Support in leading change, Something else (A mentor)"
    )
    assert rows["Is anything likely to make it hard for you to take part?"] == (
        "Travelling to the events, Changing job"
    )
    assert rows["What peer support is there, and who runs it?"] == (
        "A regional managers' forum run by the ADCS."
    )

    # Starting again forgets every preview answer.
    page.click("button:has-text('Start the preview again')")
    page.wait_for_selector("a:has-text('Start now')")
    assert page.url.endswith("/admin/questionnaires/peer_support_baseline/preview")
    page.goto(f"{live_server.url}/admin/questionnaires/peer_support_baseline/preview/check-answers")
    assert set(page.locator(".govuk-summary-list__value").all_inner_texts()) == {"Not answered"}
    page.goto(f"{live_server.url}/admin/questionnaires/peer_support_baseline/preview/part_a")
    assert page.locator("input:checked").count() == 0
    assert nothing_answered(live_server)
    assert errors == []
    page.close()


@pytest.mark.posts(
    "/admin/questionnaires/<key>/preview/<page_id>",
    "/admin/questionnaires/<key>/preview/start-again",
)
def test_previewing_leadership_culture_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/questionnaires/leadership_culture")
    page.click("text=Preview as a participant")
    page.click("text=Start now")

    # The "other" role chosen but not described: the page names the missing text.
    page.fill("#team", "Referral and Assessment Team North")
    choose(page, "role", "Another role")
    page.click("button:has-text('Continue')")
    assert page.locator("h1:has-text('About you')").is_visible()
    assert "There is a problem" in page.inner_text(".govuk-error-summary")
    assert page.locator("#question-role .govuk-error-message").is_visible()
    assert page.input_value("#team") == "Referral and Assessment Team North"
    assert nothing_answered(live_server)

    page.fill("#role_other", "Independent reviewing officer")
    page.click("button:has-text('Continue')")
    assert page.locator("h1:has-text('Leadership culture: questions 1 to 8')").is_visible()
    points = {f"culture_0{n}": str((n % 5) + 1) for n in range(1, 9)}
    for item_id, point in points.items():
        page.locator(f"#question-{item_id} label", has_text=point).first.click()
    assert {item_id: chosen(page, item_id)[0][0] for item_id in points} == points
    page.click("button:has-text('Continue')")
    assert page.locator("h1:has-text('Leadership culture: questions 9 to 16')").is_visible()
    assert page.locator("text=Page 3 of 5").is_visible()

    page.goto(f"{live_server.url}/admin/questionnaires/leadership_culture/preview/check-answers")
    values = page.locator(".govuk-summary-list__value").all_inner_texts()
    assert values[:2] == [
        "Referral and Assessment Team North",
        "Another role (Independent reviewing officer)",
    ]
    assert values[2].startswith("2 of 5")
    assert values[9].startswith("4 of 5")  # culture_08
    assert nothing_answered(live_server)

    # "Clear preview answers" on the start page forgets them.
    page.goto(f"{live_server.url}/admin/questionnaires/leadership_culture/preview")
    page.click("button:has-text('Clear preview answers')")
    assert page.url.endswith("/admin/questionnaires/leadership_culture/preview")
    page.goto(f"{live_server.url}/admin/questionnaires/leadership_culture/preview/check-answers")
    assert set(page.locator(".govuk-summary-list__value").all_inner_texts()) == {"Not answered"}
    assert nothing_answered(live_server)
    context.close()


# Signing in and out -------------------------------------------------------------------------


def audit_actions(live_server) -> list[str]:
    with live_server.sessionmaker() as session:
        return session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


@pytest.mark.posts("/auth/login", "/auth/logout")
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_signing_in_and_out(browser, live_server, javascript):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/")
    assert "/auth/login?next=" in page.url

    # Nothing typed: both boxes are named.
    page.click("button:has-text('Sign in')")
    page.wait_for_selector(".govuk-error-summary")
    summary = page.inner_text(".govuk-error-summary")
    assert "Enter your email address" in summary and "Enter your password" in summary

    # A wrong password: refused, and the refusal is in the audit log.
    page.fill("#email", "admin@example.org")
    page.fill("#password", "not the password")
    page.click("button:has-text('Sign in')")
    page.wait_for_selector(".govuk-error-summary:has-text('Enter a correct email address')")
    assert page.locator("h1:has-text('Sign in')").is_visible()
    assert page.input_value("#email") == "admin@example.org"
    assert audit_actions(live_server) == ["sign_in_failed"]
    page.goto(f"{live_server.url}/admin/programmes")
    assert "/auth/login?next=/admin/programmes" in page.url
    with live_server.sessionmaker() as session:
        assert session.scalar(select(User.last_signed_in_at)) is None

    page.fill("#email", "Admin@Example.org")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{live_server.url}/auth/two-step")  # an administrator gives a code too
    type_code(page, live_server.url)
    page.wait_for_url(f"{live_server.url}/admin/programmes")
    assert page.locator("h1:has-text('Programmes')").is_visible()
    assert page.locator("text=admin@example.org (").is_visible()
    assert audit_actions(live_server) == ["sign_in_failed", "sign_in.password", "sign_in"]
    with live_server.sessionmaker() as session:
        assert session.scalar(select(User.last_signed_in_at)) == NOW

    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/auth/login")
    banner = page.inner_text(".govuk-notification-banner--success")
    assert "You have signed out." in banner
    assert audit_actions(live_server) == [
        "sign_in_failed",
        "sign_in.password",
        "sign_in",
        "sign_out",
    ]
    with live_server.sessionmaker() as session:
        assert session.scalar(select(User.session_version)) == 1
    page.goto(f"{live_server.url}/admin/")
    assert "/auth/login?next=/admin/" in page.url
    assert page.locator("h1:has-text('Sign in')").is_visible()
    context.close()


# Staying signed in (an app whose clock moves with real time, as in test_security.py) ----------

IDLE_SECONDS = 10
WARNING_SECONDS = 6


@contextmanager
def served(tmp_path, **config):
    """The app on loopback with a clock that moves with real time (the browser's timers do too)."""
    started = time.monotonic()
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'keep-alive.sqlite'}",
            "CLOCK": lambda: NOW + timedelta(seconds=time.monotonic() - started),
        }
        | config
    )
    Base.metadata.create_all(app.extensions["surveyapp.engine"])
    with app.extensions["surveyapp.sessionmaker"]() as session:
        admin = accounts.create_user(
            session, email="admin@example.org", password=PASSWORD, role="admin", now=NOW
        )
        enrol_two_step(session, admin)
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    browser_fixtures._SERVERS[url] = app
    try:
        yield url
    finally:
        del browser_fixtures._SERVERS[url]
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["surveyapp.engine"].dispose()


@pytest.fixture
def short_sessions(tmp_path):
    with served(
        tmp_path,
        STAFF_IDLE_MINUTES=IDLE_SECONDS / 60,
        STAFF_IDLE_WARNING_SECONDS=WARNING_SECONDS,
    ) as url:
        yield url


@pytest.mark.posts("/auth/keep-alive")
def test_stay_signed_in_keeps_the_session_past_its_first_deadline(browser, short_sessions):
    page = browser.new_page()
    sign_in(page, short_sessions)
    page.goto(f"{short_sessions}/admin/questionnaires")
    loaded = time.monotonic()  # the session was last active no later than this
    status_url = f"{short_sessions}/auth/session-status"
    dialog = page.locator("#session-timeout")
    dialog.wait_for(state="visible", timeout=(IDLE_SECONDS - WARNING_SECONDS + 3) * 1000)
    assert "You will be signed out in" in dialog.inner_text()
    assert page.request.get(status_url).json()["remaining"] <= WARNING_SECONDS

    with page.expect_response("**/auth/keep-alive") as answer:
        page.get_by_role("button", name="Stay signed in").click()

    assert answer.value.request.method == "POST"
    assert answer.value.json()["signed_in"] is True
    assert answer.value.json()["remaining"] >= IDLE_SECONDS - 1
    dialog.wait_for(state="hidden")
    assert page.request.get(status_url).json()["remaining"] > WARNING_SECONDS
    # Past the deadline the page was loaded with: still signed in, on the same page.
    page.wait_for_timeout((IDLE_SECONDS + 0.3 - (time.monotonic() - loaded)) * 1000)
    assert page.url.endswith("/admin/questionnaires")
    assert page.request.get(status_url).json()["signed_in"] is True
    page.goto(f"{short_sessions}/admin/programmes")
    assert page.locator("h1:has-text('Programmes')").is_visible()
    page.close()
