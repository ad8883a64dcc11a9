"""Single sign-on: settings checked with the variable named, the pages without a provider's
round trip, and which account a checked identity opens (the browser tests in
tests/browser/test_single_sign_on.py go through a real provider)."""

import pytest
from sqlalchemy import select

from surveyapp import create_app
from surveyapp.auth import single_sign_on as sso
from surveyapp.errors import ConfigError
from surveyapp.models import AuditEvent, SignInLink, User
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD

COUNCIL = {
    "OIDC_PROVIDERS": "council",
    "OIDC_COUNCIL_ISSUER": "https://login.council.example/tenant/v2.0",
    "OIDC_COUNCIL_CLIENT_ID": "surveyapp",
    "OIDC_COUNCIL_CLIENT_SECRET": "secret",
    "OIDC_COUNCIL_NAME": "Kent County Council",
}
PROVIDER = sso.Provider(
    name="council",
    display_name="Kent County Council",
    issuer=COUNCIL["OIDC_COUNCIL_ISSUER"],
    client_id="surveyapp",
    client_secret="secret",
)


def _app(**config):
    return create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"} | config)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"OIDC_COUNCIL_CLIENT_ID": ""}, "SURVEYAPP_OIDC_COUNCIL_CLIENT_ID is not set"),
        ({"OIDC_COUNCIL_CLIENT_SECRET": None}, "SURVEYAPP_OIDC_COUNCIL_CLIENT_SECRET is not set"),
        ({"OIDC_COUNCIL_ISSUER": "http://login.council.example"}, "SURVEYAPP_OIDC_COUNCIL_ISSUER"),
        ({"OIDC_COUNCIL_ISSUER": "https://x.example/?a=1"}, "SURVEYAPP_OIDC_COUNCIL_ISSUER"),
        ({"OIDC_PROVIDERS": "Kent Council"}, "SURVEYAPP_OIDC_PROVIDERS"),
        ({"OIDC_PROVIDERS": "council,council"}, "SURVEYAPP_OIDC_PROVIDERS names a provider twice"),
        (
            {"OIDC_COUNCIL_ALLOW_DOMAINS": "kent.gov.uk", "OIDC_COUNCIL_DEFAULT_ROLE": "admin"},
            "SURVEYAPP_OIDC_COUNCIL_DEFAULT_ROLE must be one of",
        ),
        (
            {"OIDC_COUNCIL_ALLOW_DOMAINS": "kent.gov.uk"},
            "SURVEYAPP_OIDC_COUNCIL_DEFAULT_ROLE is not set",
        ),
        (
            {"OIDC_COUNCIL_DEFAULT_ROLE": "viewer"},
            "SURVEYAPP_OIDC_COUNCIL_ALLOW_DOMAINS is not set",
        ),
        ({"OIDC_PROVIDERS": "", "PASSWORD_SIGN_IN": False}, "nobody could sign in"),
        ({"PASSWORD_SIGN_IN": "sometimes"}, "SURVEYAPP_PASSWORD_SIGN_IN must be true or false"),
    ],
)
def test_a_wrong_provider_setting_stops_the_app_naming_the_variable(change, named):
    with pytest.raises(ConfigError, match=named):
        _app(**(COUNCIL | change))


def test_providers_come_from_the_environment(monkeypatch):
    for key, value in COUNCIL.items():
        monkeypatch.setenv(f"SURVEYAPP_{key}", value)
    monkeypatch.setenv("SURVEYAPP_OIDC_COUNCIL_CLIENT_ID", "12345")  # JSON-looking: a number
    monkeypatch.setenv("SURVEYAPP_OIDC_COUNCIL_ALLOW_DOMAINS", "kent.gov.uk, @medway.gov.uk")
    monkeypatch.setenv("SURVEYAPP_OIDC_COUNCIL_DEFAULT_ROLE", "viewer")

    app = _app()
    (provider,) = app.extensions["surveyapp.single_sign_on"][1].values()

    assert provider.client_id == "12345"
    assert provider.allow_domains == ("kent.gov.uk", "medway.gov.uk")
    assert provider.display_name == "Kent County Council"


def test_the_sign_in_page_offers_the_provider_beside_the_password(make_app):
    with_provider = make_app(**COUNCIL).test_client().get("/auth/login?next=/admin/waves")
    without = make_app().test_client().get("/auth/login")

    assert 'href="/auth/sso/council?next=/admin/waves"' in with_provider.text
    assert "Sign in with Kent County Council" in with_provider.text
    assert 'id="password"' in with_provider.text
    assert "Sign in with" not in without.text


def test_with_password_sign_in_off_the_password_is_neither_shown_nor_taken(make_app, session):
    accounts.create_user(
        session, email="eva@example.org", password=PASSWORD, role="viewer", now=NOW
    )
    session.commit()
    client = make_app(**COUNCIL, PASSWORD_SIGN_IN=False).test_client()

    page = client.get("/auth/login")
    posted = client.post("/auth/login", data={"email": "eva@example.org", "password": PASSWORD})

    assert "Sign in with Kent County Council" in page.text and 'id="password"' not in page.text
    assert posted.status_code == 405
    assert client.get("/admin/programmes").status_code == 303  # still not signed in


def test_a_callback_with_no_sign_in_under_way_is_refused_and_audited(make_app, session):
    client = make_app(**COUNCIL).test_client()

    response = client.get("/auth/sso/council/callback?code=stolen&state=guessed")

    assert response.status_code == 400
    assert "Signing in with Kent County Council did not work" in response.text
    event = session.scalars(select(AuditEvent)).one()
    assert event.action == "sign_in_failed" and "state unknown or used" in event.summary
    assert client.get("/auth/sso/nobody/callback").status_code == 404


def _identity(subject="sub-1", email="ada@kent.gov.uk", verified=True):
    return sso.Identity(PROVIDER.issuer, subject, email, verified)


def test_a_verified_email_links_once_then_the_subject_alone_signs_in(session):
    ada = accounts.create_user(
        session, email="ada@kent.gov.uk", password=PASSWORD, role="viewer", now=NOW
    )

    first = sso.sign_in(session, PROVIDER, _identity(), now=NOW)
    ada.email = "ada.lovelace@kent.gov.uk"
    again = sso.sign_in(session, PROVIDER, _identity(email="changed@elsewhere.example"), now=NOW)

    assert first.user is ada and again.user is ada
    assert session.scalars(select(SignInLink.subject)).all() == ["sub-1"]


def test_an_email_is_never_a_way_into_an_account_linked_to_someone_else(session):
    accounts.create_user(
        session, email="ada@kent.gov.uk", password=PASSWORD, role="viewer", now=NOW
    )
    sso.sign_in(session, PROVIDER, _identity(), now=NOW)

    other = sso.sign_in(session, PROVIDER, _identity(subject="sub-2"), now=NOW)
    unverified = sso.sign_in(
        session,
        PROVIDER,
        _identity(subject="sub-3", email="bo@kent.gov.uk", verified=False),
        now=NOW,
    )

    assert other.user is None and unverified.user is None
    summaries = session.scalars(select(AuditEvent.summary).order_by(AuditEvent.id)).all()
    assert "linked to another person at this provider" in summaries[-2]
    assert "did not say the email is verified" in summaries[-1]


def test_a_deactivated_account_cannot_sign_in_by_provider(session):
    ada = accounts.create_user(
        session, email="ada@kent.gov.uk", password=PASSWORD, role="viewer", now=NOW
    )
    ada.is_active = False

    outcome = sso.sign_in(session, PROVIDER, _identity(), now=NOW)

    assert outcome.user is None
    assert session.scalar(select(SignInLink)) is None


def test_an_account_made_by_signing_in_has_no_password_that_works(session):
    provider = sso.Provider(
        **(PROVIDER.__dict__ | {"allow_domains": ("kent.gov.uk",), "default_role": "viewer"})
    )

    made = sso.sign_in(session, provider, _identity(email="nia@kent.gov.uk"), now=NOW).user
    outside = sso.sign_in(session, provider, _identity("s-9", "sam@other.example"), now=NOW)

    assert made.role == "viewer" and outside.user is None
    assert not accounts.check_password(made, "!single-sign-on")
    assert accounts.authenticate(session, email="nia@kent.gov.uk", password="", now=NOW) is None
    assert session.scalars(select(User.email)).all() == ["nia@kent.gov.uk"]


def test_an_answer_naming_another_issuer_is_refused_before_the_code_is_used(make_app, session):
    client = make_app(**COUNCIL).test_client()
    with client.session_transaction() as cookie:
        cookie["sso_pending"] = {
            "provider": "council",
            "purpose": "sign_in",
            "next": "/",
            "started": 2**40,
        }

    response = client.get("/auth/sso/council/callback?code=c&state=s&iss=https://evil.example")

    assert response.status_code == 400
    assert "another issuer" in session.scalars(select(AuditEvent.summary)).one()


def test_metadata_naming_another_issuer_is_refused(make_app, session, tmp_path):
    from tests.oidc_provider import free_port, start_provider, stop_provider

    port = free_port()
    provider = start_provider(tmp_path, port=port, redirect_uri="http://127.0.0.1/cb", accounts=[])
    try:
        # The same server, reached by another name: its metadata says 127.0.0.1, not localhost.
        client = make_app(
            **(COUNCIL | {"OIDC_COUNCIL_ISSUER": f"http://localhost:{port}"})
        ).test_client()
        response = client.get("/auth/sso/council")
    finally:
        stop_provider(provider)

    assert response.status_code == 400
    summary = session.scalars(select(AuditEvent.summary)).one()
    assert f"its metadata names another issuer, 'http://127.0.0.1:{port}'" in summary


def test_an_administrators_account_is_not_opened_by_a_verified_email(session):
    accounts.create_user(session, email="ada@kent.gov.uk", password=PASSWORD, role="admin", now=NOW)

    outcome = sso.sign_in(session, PROVIDER, _identity(), now=NOW)

    assert outcome.user is None
    assert "Link your Kent County Council account" in outcome.refusal
    assert session.scalar(select(SignInLink)) is None
    assert (
        "administrator's account is linked only by its owner"
        in session.scalars(select(AuditEvent.summary)).one()
    )


def test_link_domains_limit_which_emails_link_an_account(session):
    council = sso.providers_from_config(COUNCIL | {"OIDC_COUNCIL_LINK_DOMAINS": "@Kent.gov.uk"})[0]
    accounts.create_user(
        session, email="bo@gmail.example", password=PASSWORD, role="viewer", now=NOW
    )
    accounts.create_user(
        session, email="ada@kent.gov.uk", password=PASSWORD, role="viewer", now=NOW
    )

    outside = sso.sign_in(session, council, _identity("s-1", "bo@gmail.example"), now=NOW)
    inside = sso.sign_in(session, council, _identity("s-2", "ada@kent.gov.uk"), now=NOW)

    assert council.link_domains == ("kent.gov.uk",)
    assert outside.user is None and inside.user.email == "ada@kent.gov.uk"
    assert session.scalars(select(SignInLink.subject)).all() == ["s-2"]


def test_linking_from_your_account_takes_any_email_but_never_a_second_owner(session):
    ada = accounts.create_user(
        session, email="ada@kent.gov.uk", password=PASSWORD, role="admin", now=NOW
    )
    bo = accounts.create_user(
        session, email="bo@kent.gov.uk", password=PASSWORD, role="admin", now=NOW
    )
    identity = _identity("ada-at-council", "a.lovelace@elsewhere.example", verified=False)

    first = sso.link(session, PROVIDER, identity, ada, now=NOW)
    again = sso.link(session, PROVIDER, identity, ada, now=NOW)
    taken = sso.link(session, PROVIDER, identity, bo, now=NOW)
    second = sso.link(session, PROVIDER, _identity("ada-2"), ada, now=NOW)

    assert (first, again) == ("", "")
    assert "linked to another account here" in taken
    assert "already linked to another Kent County Council account" in second
    assert sso.sign_in(session, PROVIDER, identity, now=NOW).user is ada
    assert session.scalars(select(SignInLink.user_id)).all() == [ada.id]
