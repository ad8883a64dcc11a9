"""Single sign-on in Chromium against a real OpenID provider (oidc-provider, on loopback):
the good path, a token for another client, an expired token, a replayed state, a person
the product does not know, and accounts made for an allowed domain."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from surveyapp import create_app
from surveyapp.db import Base
from surveyapp.models import AuditEvent, SignInLink, User
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD, code_now, enrol_two_step
from tests.factories import make_wave
from tests.oidc_provider import ACCOUNT_PASSWORD, free_port, start_provider, stop_provider

pytestmark = pytest.mark.browser

ADA = {"sub": "ada-4711", "email": "ada@council.example", "email_verified": True, "name": "Ada"}
STRANGER = {"sub": "s-1", "email": "sam@elsewhere.example", "email_verified": True, "name": "Sam"}
NEWCOMER = {"sub": "n-1", "email": "nia@council.example", "email_verified": True, "name": "Nia"}
UNVERIFIED = {"sub": "u-1", "email": "uma@council.example", "email_verified": False, "name": "U"}


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


class Site:
    """The app on a live server, with the provider it names."""

    def __init__(self, tmp_path, provider_options=None, **app_config):
        provider_port = free_port()
        self.clock = Clock()
        issuer = f"http://127.0.0.1:{provider_port}"
        settings = {
            "OIDC_PROVIDERS": "council",
            "OIDC_COUNCIL_ISSUER": issuer,
            "OIDC_COUNCIL_CLIENT_ID": "surveyapp",
            "OIDC_COUNCIL_CLIENT_SECRET": "a client secret for the tests only",
            "OIDC_COUNCIL_NAME": "Test Council",
        }
        self.app = create_app(
            {
                "SECRET_KEY": "browser-tests",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'sso.sqlite'}",
                "CLOCK": self.clock,
            }
            | settings
            | app_config
        )
        Base.metadata.create_all(self.app.extensions["surveyapp.engine"])
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.app.config["BASE_URL"] = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.provider = None
        self.provider = start_provider(
            tmp_path,
            port=provider_port,
            redirect_uri=f"{self.url}/auth/sso/council/callback",
            accounts=[ADA, STRANGER, NEWCOMER, UNVERIFIED],
            **(provider_options or {}),
        )
        assert self.provider.issuer == issuer

    def db(self):
        return self.app.extensions["surveyapp.sessionmaker"]()

    def close(self):
        if self.provider is not None:
            stop_provider(self.provider)
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.app.extensions["surveyapp.engine"].dispose()

    def audit(self):
        with self.db() as session:
            return session.execute(
                select(AuditEvent.action, AuditEvent.actor, AuditEvent.summary).order_by(
                    AuditEvent.id
                )
            ).all()


@pytest.fixture
def site(tmp_path, browser):
    made = []

    def make(provider_options=None, **app_config):
        folder = tmp_path / f"site{len(made)}"
        folder.mkdir()
        made.append(Site(folder, provider_options, **app_config))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def _add_ada(site, role="admin", linked=False):
    """Ada's staff account; ``linked``: already linked to her provider account."""
    with site.db() as session:
        user = accounts.create_user(
            session, email=ADA["email"], password=PASSWORD, role=role, now=NOW
        )
        if linked:
            session.add(
                SignInLink(
                    user_id=user.id,
                    issuer=site.provider.issuer,
                    subject=ADA["sub"],
                    email=ADA["email"],
                    created_at=NOW,
                )
            )
        session.commit()
        return user.id


def _sign_in_at_provider(page, site, account):
    """From our sign-in page: the provider's button, then the provider's own form."""
    page.goto(f"{site.url}/auth/login")
    page.click("a:has-text('Sign in with Test Council')")
    _provider_form(page, site, account)


def _provider_form(page, site, account):
    page.wait_for_url(re.compile(re.escape(site.provider.issuer) + "/interaction/"))
    page.fill("#username", account["sub"])
    page.fill("#password", ACCOUNT_PASSWORD)
    page.click("button:has-text('Sign in to the test provider')")
    page.wait_for_url(re.compile(re.escape(site.url) + "/"))
    page.wait_for_load_state()


def test_a_known_person_signs_in_with_the_provider_and_is_remembered_by_subject(site, page):
    site = site()
    user_id = _add_ada(site, role="evaluator")
    callbacks = []
    page.on(
        "request", lambda r: callbacks.append(r.url) if "/auth/sso/council/callback" in r.url else 0
    )

    page.goto(f"{site.url}/auth/login")
    assert page.locator("#email").is_visible()  # the password form stays beside the button
    _sign_in_at_provider(page, site, ADA)

    assert page.url.endswith("/admin/programmes")  # no two-step code of ours was asked
    assert "code=" in callbacks[0] and "state=" in callbacks[0]
    with site.db() as session:
        link = session.scalar(select(SignInLink))
        assert (link.user_id, link.subject, link.issuer) == (
            user_id,
            ADA["sub"],
            site.provider.issuer,
        )
        # The staff account's email changes; the provider's subject still finds it.
        session.get(User, user_id).email = "ada.lovelace@council.example"
        session.commit()
    page.click("button:has-text('Sign out')")
    page.goto(f"{site.url}/auth/login")
    page.click("a:has-text('Sign in with Test Council')")  # still signed in at the provider
    page.wait_for_url("**/admin/programmes")
    assert "ada.lovelace@council.example" in page.content()
    events = [(action, summary) for action, _, summary in site.audit()]
    assert ("sign_in.link", "Account linked to its Test Council identity on a verified email") in (
        events
    )
    assert [summary for action, summary in events if action == "sign_in"] == [
        "Signed in for the first time with Test Council (single sign-on)",
        "Signed in with Test Council (single sign-on)",
    ]

    # Replayed state: the same callback address, with its code and state, a second time.
    page.goto(callbacks[0])

    assert "You are not signed in" in page.content()
    assert "Signing in with Test Council did not work" in page.content()
    last = site.audit()[-1]
    assert last[0] == "sign_in_failed" and "state unknown or used" in last[2]


def test_step_up_signs_in_again_with_the_provider(site, page):
    site = site()
    _add_ada(site, linked=True)  # an administrator, linked from Your account
    with site.db() as session:
        wave = make_wave(session)
        session.commit()
        full = f"/admin/waves/{wave.id}/export?format=csv&layout=wide&full=1"
    _sign_in_at_provider(page, site, ADA)
    site.clock.now = NOW + timedelta(minutes=16)  # past STEP_UP_MINUTES; within the idle limit

    page.goto(f"{site.url}/auth/confirm?next=/auth/account")
    page.click("a:has-text('Sign in again with Test Council')")
    _provider_form(page, site, ADA)  # the provider asks again (prompt=login, max_age=0)

    assert page.url.endswith("/auth/account")
    assert "Linked to Test Council" in page.inner_text("#single-sign-on-state")
    downloaded = page.request.get(site.url + full, max_redirects=0)
    assert downloaded.status == 200
    assert "_full" in downloaded.headers["content-disposition"]
    assert [a for a, _, s in site.audit() if a == "sign_in.confirm"] == ["sign_in.confirm"]


def test_a_token_made_for_another_client_is_refused(site, page):
    site = site({"wrong_audience": "another-service"})
    _add_ada(site)

    _sign_in_at_provider(page, site, ADA)

    assert "You are not signed in" in page.content()
    page.goto(f"{site.url}/admin/")
    assert "/auth/login" in page.url
    action, actor, summary = site.audit()[-1]
    assert action == "sign_in_failed" and "aud" in summary
    with site.db() as session:
        assert session.scalar(select(SignInLink)) is None


def test_an_expired_token_is_refused(site, page):
    # The provider's clock is 15 minutes behind and its ID tokens last 5: expired on arrival.
    site = site({"clock_offset_seconds": -900, "id_token_ttl": 300})
    _add_ada(site)

    _sign_in_at_provider(page, site, ADA)

    assert "You are not signed in" in page.content()
    action, actor, summary = site.audit()[-1]
    assert action == "sign_in_failed" and "expired" in summary.lower()
    page.goto(f"{site.url}/admin/")
    assert "/auth/login" in page.url


def test_a_person_the_product_does_not_know_is_refused_and_nothing_is_made(site, page):
    site = site()
    _add_ada(site)

    _sign_in_at_provider(page, site, STRANGER)

    assert "There is no staff account here for your Test Council account" in page.content()
    assert "sam@elsewhere.example" in page.content()
    action, actor, summary = site.audit()[-1]
    assert (action, actor) == ("sign_in_failed", "sam@elsewhere.example")
    assert "no staff account has this email" in summary
    with site.db() as session:
        assert session.scalars(select(User.email)).all() == [ADA["email"]]


def test_an_allowed_domain_gets_an_account_of_the_default_role(site, page):
    site = site(
        OIDC_COUNCIL_ALLOW_DOMAINS="council.example",
        OIDC_COUNCIL_DEFAULT_ROLE="viewer",
        PASSWORD_SIGN_IN=False,
    )

    page.goto(f"{site.url}/auth/login")
    assert page.locator("#email").count() == 0  # single sign-on only
    _sign_in_at_provider(page, site, NEWCOMER)
    assert page.url.endswith("/admin/programmes")
    page.click("button:has-text('Sign out')")
    page.context.clear_cookies()  # and out of the provider: another person at this computer
    _sign_in_at_provider(page, site, UNVERIFIED)  # the domain, but an unverified email
    refused = page.content()

    with site.db() as session:
        made = session.scalar(select(User).where(User.email == NEWCOMER["email"]))
        assert made.role == "viewer"
        assert session.scalar(select(SignInLink.subject)) == NEWCOMER["sub"]
        assert session.scalar(select(User).where(User.email == UNVERIFIED["email"])) is None
    assert "There is no staff account here" in refused
    actions = [action for action, _, _ in site.audit()]
    assert actions[:3] == ["user.create", "sign_in.link", "sign_in"]
    assert actions[-1] == "sign_in_failed"


def test_an_administrator_is_linked_only_from_your_account_after_the_password(site, page):
    site = site()
    user_id = _add_ada(site)  # an administrator: a verified email alone does not open it
    with site.db() as session:
        enrol_two_step(session, session.get(User, user_id))
        session.commit()

    _sign_in_at_provider(page, site, ADA)
    refused = page.inner_text("main")
    with site.db() as session:
        assert session.scalar(select(SignInLink)) is None

    page.goto(f"{site.url}/auth/login")
    page.fill("#email", ADA["email"])
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/auth/two-step")
    with site.db() as session:
        code = code_now(session.get(User, user_id), site.clock())
    page.fill("#code", code)
    page.click("button:has-text('Continue')")
    page.wait_for_url("**/admin/programmes")
    page.goto(f"{site.url}/auth/account")
    assert "Not linked yet" in page.inner_text("#single-sign-on-state")
    page.click("a:has-text('Link your Test Council account')")
    _provider_form(page, site, ADA)  # the provider asks again (prompt=login)
    page.wait_for_url("**/auth/account")
    linked_page = page.inner_text("main")
    page.click("button:has-text('Sign out')")
    page.goto(f"{site.url}/auth/login")
    page.click("a:has-text('Sign in with Test Council')")  # still signed in at the provider
    page.wait_for_url("**/admin/programmes")

    assert "is linked only by its owner" in refused
    assert "Link your Test Council account" in refused
    assert "Your account is linked to Test Council" in linked_page
    assert "Linked to Test Council" in linked_page
    assert page.url.endswith("/admin/programmes")
    with site.db() as session:
        link = session.scalars(select(SignInLink)).one()
        assert (link.user_id, link.subject) == (user_id, ADA["sub"])
    summaries = [summary for action, _, summary in site.audit() if action == "sign_in.link"]
    assert summaries == [
        "Account linked to its Test Council identity by its owner, from Your account"
    ]
