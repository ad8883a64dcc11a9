"""Sessions that run out: staff signed out after inactivity, participants asked again."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.models import Answer, DraftAnswer
from surveyapp.respond import flow
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD, code_now
from tests.conftest import sign_in as sign_in_staff
from tests.factories import make_invitation

EMAIL = "manager@example.org"
BACKGROUND = {"X-Surveyapp-Background": "true"}


class Clock:
    """The app's CLOCK, moved on by the test."""

    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def staff(make_app, session, clock):
    """A client for an app on the movable clock, signed in as an administrator at NOW."""

    def sign_in(**config):
        app = make_app(CLOCK=clock, **config)
        if accounts.find_user(session, EMAIL) is None:
            accounts.create_user(session, email=EMAIL, password=PASSWORD, role="admin", now=NOW)
            session.commit()
        client = app.test_client()
        signed_in = sign_in_staff(client, session, EMAIL)  # the password, then the code
        assert signed_in.status_code == 303, signed_in.text
        return client

    return sign_in


# Staff: inactivity -----------------------------------------------------------------------------


def test_a_staff_session_ends_after_30_idle_minutes_and_returns_to_the_page(staff, clock, session):
    client = staff()

    clock.advance(minutes=29)
    still_in = client.get("/admin/programmes")
    clock.advance(minutes=29)  # 29 minutes after the last request, 58 after signing in
    still_in_later = client.get("/admin/programmes")
    clock.advance(minutes=30)
    expired = client.get("/admin/programmes?sort=name")
    sign_in_page = client.get(expired.location)

    assert still_in.status_code == 200 and still_in_later.status_code == 200
    assert expired.status_code == 303
    assert expired.location == "/auth/login?next=/admin/programmes?sort%3Dname"
    assert "You were signed out because you were inactive for 30 minutes" in sign_in_page.text
    back = client.post(expired.location, data={"email": EMAIL, "password": PASSWORD})
    assert back.status_code == 303 and back.location == "/auth/two-step"
    code = code_now(accounts.find_user(session, EMAIL), clock.now)
    back = client.post("/auth/two-step", data={"code": code})
    assert back.status_code == 303 and back.location == "/admin/programmes?sort=name"
    assert client.get("/admin/programmes").status_code == 200


def test_the_expired_session_is_cleared_not_just_hidden(staff, clock):
    client = staff()
    clock.advance(minutes=31)
    client.get("/admin/programmes")
    clock.now = NOW  # even if the clock went back, the session is gone

    assert client.get("/admin/programmes").status_code == 303
    with client.session_transaction() as stored:
        assert "user_id" not in stored


def test_signing_out_ends_every_copy_of_the_session(staff, make_app, clock):
    client = staff()
    stolen = client.get_cookie("session").value
    copy = make_app(CLOCK=clock).test_client()
    copy.set_cookie("session", stolen)
    assert copy.get("/admin/programmes").status_code == 200

    client.post("/auth/logout")

    assert copy.get("/admin/programmes").status_code == 303
    again = staff()  # signing in again gives a session that works
    assert again.get("/admin/programmes").status_code == 200


def test_even_an_active_session_ends_at_its_lifetime(staff, clock):
    client = staff(PERMANENT_SESSION_LIFETIME=timedelta(hours=8))
    for _ in range(16):  # busy all day: a page every 29 minutes keeps it from idling out
        clock.advance(minutes=29)
        client.get("/admin/programmes")
    clock.advance(minutes=29)  # 8 h 13 min after signing in

    assert client.get("/admin/programmes").status_code == 303


def test_the_idle_time_comes_from_the_configuration(staff, clock):
    client = staff(STAFF_IDLE_MINUTES=5)
    clock.advance(minutes=4)
    assert client.get("/admin/programmes").status_code == 200
    clock.advance(minutes=5)

    expired = client.get("/admin/programmes", follow_redirects=True)

    assert "You were signed out because you were inactive for 5 minutes" in expired.text


def test_polling_and_asking_the_time_left_do_not_keep_a_session_alive(staff, clock, session):
    from tests.factories import make_wave

    wave = make_wave(session)
    session.commit()
    client = staff()
    dashboard = f"/admin/waves/{wave.id}/dashboard"

    clock.advance(minutes=10)
    poll = client.get(dashboard, headers={"HX-Request": "true", **BACKGROUND})
    clock.advance(minutes=10)
    status = client.get("/auth/session-status")
    clock.advance(minutes=9)
    last_poll = client.get(dashboard, headers={"HX-Request": "true", **BACKGROUND})
    clock.advance(minutes=1)  # 30 minutes since signing in, the last real activity
    after = client.get("/auth/session-status")

    assert poll.status_code == 200 and 'id="wave-counts"' in poll.text
    assert status.json == {"signed_in": True, "remaining": 600}
    assert last_poll.status_code == 200
    assert after.json == {"signed_in": False, "remaining": 0}
    assert client.get(dashboard).status_code == 303


def test_any_other_request_counts_as_activity(staff, clock):
    client = staff()
    clock.advance(minutes=20)
    client.get("/admin/programmes")
    clock.advance(minutes=5)

    assert client.get("/auth/session-status").json == {"signed_in": True, "remaining": 1500}


def test_stay_signed_in_refreshes_the_time_left(staff, clock):
    client = staff()
    clock.advance(minutes=28, seconds=30)
    before = client.get("/auth/session-status").json

    stay = client.post("/auth/keep-alive", headers={"Accept": "application/json"})
    clock.advance(minutes=29)

    assert before == {"signed_in": True, "remaining": 90}
    assert stay.json == {"signed_in": True, "remaining": 1800}
    assert client.get("/admin/programmes").status_code == 200


def test_stay_signed_in_works_as_a_plain_form_and_goes_back(staff, clock):
    client = staff()
    clock.advance(minutes=29)

    stay = client.post("/auth/keep-alive", data={"next": "/admin/programmes"})
    clock.advance(minutes=29)

    assert stay.status_code == 303 and stay.location == "/admin/programmes"
    assert client.get("/admin/programmes").status_code == 200


def test_stay_signed_in_after_the_end_does_not_bring_the_session_back(staff, clock):
    client = staff()
    clock.advance(minutes=30)

    stay = client.post("/auth/keep-alive", headers={"Accept": "application/json"})
    plain = client.post("/auth/keep-alive", data={"next": "/admin/programmes"})

    assert stay.status_code == 401 and stay.json == {"signed_in": False, "remaining": 0}
    assert plain.status_code == 303
    assert plain.location == "/auth/login?next=/admin/programmes"


def test_admin_pages_carry_the_warning_with_the_time_left(staff, clock):
    client = staff(STAFF_IDLE_WARNING_SECONDS=90)
    clock.advance(minutes=1)

    page = client.get("/admin/programmes")

    dialog = re.search(r'<dialog id="session-timeout"[^>]*>', page.text).group(0)
    assert 'data-remaining="1800"' in dialog and 'data-warning="90"' in dialog
    assert "Stay signed in" in page.text
    assert 'action="/auth/keep-alive"' in page.text


def test_pages_for_people_not_signed_in_have_no_warning(client):
    assert "session-timeout" not in client.get("/auth/login").text


def test_the_keep_alive_needs_a_csrf_token(make_app, session, clock):
    accounts.create_user(session, email=EMAIL, password=PASSWORD, role="admin", now=NOW)
    session.commit()
    client = make_app(CLOCK=clock, WTF_CSRF_ENABLED=True).test_client()
    assert sign_in_staff(client, session, EMAIL).status_code == 303
    clock.advance(minutes=29)

    forged = client.post("/auth/keep-alive", headers={"Accept": "application/json"})
    clock.advance(minutes=1)

    assert forged.status_code == 400
    assert client.get("/auth/session-status").json["signed_in"] is False


# Participants: a page sent after the session or its token expired ------------------------------


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _resume(html: str) -> str:
    return re.search(r'name="resume" value="([^"]+)"', html).group(1)


TYPED = {"page_id": "about_the_session", "session_type": "1", "session_role": "1"}


@pytest.fixture
def participant(make_app, session):
    """A participant's browser with CSRF on, on the first page; returns (app, client, page)."""
    app = make_app(WTF_CSRF_ENABLED=True)
    invitation = make_invitation(session)
    session.commit()
    client = app.test_client()
    client.get(f"/r/{invitation.token}")
    page = client.get("/r/page/about_the_session")
    assert page.status_code == 200
    return app, client, page, invitation


def _stored(session) -> int:
    return session.scalar(select(func.count()).select_from(DraftAnswer)) + session.scalar(
        select(func.count()).select_from(Answer)
    )


def test_a_page_sent_after_the_session_expired_comes_back_with_the_typed_answers(
    participant, session
):
    app, old_browser, page, invitation = participant
    browser = app.test_client()  # the session cookie has gone: a browser that forgot it
    data = TYPED | {"session_number": "7", "csrf_token": _csrf(page.text)}

    again = browser.post("/r/page/about_the_session", data=data | {"resume": _resume(page.text)})

    assert again.status_code == 200
    assert "press Continue again" in again.text
    assert re.search(r'name="session_number"[^>]*value="7"', again.text)
    assert re.search(r'value="1"[^>]*checked|checked[^>]*value="1"', again.text)
    assert _stored(session) == 0
    sent = browser.post(
        "/r/page/about_the_session",
        data=TYPED
        | {
            "session_number": "7",
            "csrf_token": _csrf(again.text),
            "resume": _resume(again.text),
        },
    )
    assert sent.status_code == 303 and sent.location == "/r/page/your_views"
    stored = flow.answers_of(session, invitation)
    assert (stored["session_type"], stored["session_role"], stored["session_number"]) == (1, 1, 7)


def test_a_page_sent_with_an_expired_form_token_comes_back_with_the_typed_answers(
    participant, session
):
    _app, browser, page, _invitation = participant

    again = browser.post(
        "/r/page/about_the_session",
        data=TYPED | {"session_number": "12", "csrf_token": "expired"},
    )

    assert again.status_code == 200
    assert "press Continue again" in again.text
    assert re.search(r'name="session_number"[^>]*value="12"', again.text)
    assert "There is a problem" not in again.text
    assert _stored(session) == 0


def test_without_a_valid_note_the_page_is_refused_and_nothing_is_stored(participant, session):
    app, _browser, page, _invitation = participant
    data = TYPED | {"session_number": "7", "csrf_token": _csrf(page.text)}
    note = _resume(page.text)

    refused = [
        app.test_client().post("/r/page/about_the_session", data=data),
        app.test_client().post("/r/page/about_the_session", data=data | {"resume": "forged"}),
        app.test_client().post("/r/page/about_the_session", data=data | {"resume": note[:-2]}),
    ]

    assert [response.status_code for response in refused] == [400, 400, 400]
    assert "Open the link in your email again" in refused[0].text
    assert _stored(session) == 0


def test_the_note_stops_working_when_the_link_changes(participant, session):
    app, _browser, page, invitation = participant
    invitation.token = "a-new-token-for-this-person"
    session.commit()

    refused = app.test_client().post(
        "/r/page/about_the_session",
        data=TYPED | {"csrf_token": _csrf(page.text), "resume": _resume(page.text)},
    )

    assert refused.status_code == 400
    assert _stored(session) == 0


def test_the_note_holds_neither_the_token_nor_anything_readable_as_one(participant):
    _app, _browser, page, invitation = participant

    assert invitation.token not in page.text


def test_sending_the_answers_with_an_expired_token_asks_again(make_app, session):
    from surveyapp.web.context import wave_questionnaire
    from tests.participant import page_data

    app = make_app(WTF_CSRF_ENABLED=True)
    invitation = make_invitation(session)
    session.commit()
    browser = app.test_client()
    browser.get(f"/r/{invitation.token}")
    with app.app_context():
        questionnaire = wave_questionnaire(invitation.wave)
    for page in questionnaire.pages:
        form = browser.get(f"/r/page/{page.id}")
        if form.status_code != 200:
            continue
        data = {key: values for key, values in page_data(page).items()}
        browser.post(f"/r/page/{page.id}", data=data | {"csrf_token": _csrf(form.text)})

    refused = browser.post("/r/submit", data={"csrf_token": "expired"})
    shown = browser.get(refused.location)

    assert refused.status_code == 303 and refused.location == "/r/check-answers"
    assert "Press Send my answers again" in shown.text
    session.expire_all()
    assert not flow.find_invitation(session, invitation.token).is_completed
