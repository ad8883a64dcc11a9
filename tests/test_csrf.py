"""With CSRF protection on, every form refuses a post without its token."""

import re

import pytest

from tests.conftest import PASSWORD, sign_in


@pytest.fixture
def csrf_client(make_app):
    return make_app(WTF_CSRF_ENABLED=True).test_client()


def test_sign_in_without_a_token_is_refused(csrf_client, auth):
    auth.client = csrf_client
    from surveyapp.staff import operations as accounts
    from tests.conftest import NOW

    accounts.create_user(
        auth.session, email="a@example.org", password=PASSWORD, role="admin", now=NOW
    )
    auth.session.commit()

    response = csrf_client.post(
        "/auth/login", data={"email": "a@example.org", "password": PASSWORD}
    )

    assert response.status_code == 400
    assert "Your session has expired or the form is out of date" in response.text


def test_admin_actions_without_a_token_are_refused(csrf_client, session):
    from surveyapp.staff import operations as accounts
    from tests.conftest import NOW

    accounts.create_user(session, email="a@example.org", password=PASSWORD, role="admin", now=NOW)
    session.commit()
    signed_in = sign_in(csrf_client, session, "a@example.org")  # the password, then the code

    refused = [
        csrf_client.post("/admin/questionnaires/load"),
        csrf_client.post("/admin/questionnaires/load", data={"csrf_token": "forged"}),
        csrf_client.post(
            "/admin/questionnaires/leadership_culture/preview/about_you", data={"team": "x"}
        ),
        csrf_client.post("/auth/logout"),
    ]
    # Signing in starts a new session, so the page after it carries a new token.
    fresh = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"',
        csrf_client.get("/admin/questionnaires").text,
    ).group(1)
    accepted = csrf_client.post("/admin/questionnaires/load", headers={"X-CSRFToken": fresh})

    assert signed_in.status_code == 303
    assert [response.status_code for response in refused] == [400, 400, 400, 400]
    assert accepted.status_code == 303


def test_participant_posts_without_a_token_change_nothing(make_app, session):
    from sqlalchemy import func, select

    from surveyapp.models import DraftAnswer
    from tests.factories import make_invitation

    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    invitation = make_invitation(session)
    session.commit()
    client.get(f"/r/{invitation.token}")

    page = client.post("/r/page/about_the_session", data={"page_id": "about_the_session"})
    sent = client.post("/r/submit")
    opt_out = client.post(f"/r/{invitation.token}/no-reminders")

    # The page and the submission are asked again (tests/test_sessions.py), the opt-out refused.
    assert [page.status_code, sent.status_code, opt_out.status_code] == [200, 303, 400]
    assert "press Continue again" in page.text
    assert sent.headers["Location"] == "/r/check-answers"
    assert session.scalar(select(func.count()).select_from(DraftAnswer)) == 0
    session.expire_all()
    assert invitation.opted_out_at is None
