"""Step-up: the full data, an erasure and a role change ask for the password again when it
was last given more than STEP_UP_MINUTES (15) ago."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from surveyapp.models import AuditEvent, Participant, User
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD, sign_in
from tests.factories import make_participant, make_programme, make_wave

ADMIN = "admin@example.org"


class Clock:
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
    """An administrator signed in at NOW on an app whose clock the test moves."""

    def make(**config):
        client = make_app(CLOCK=clock, **config).test_client()
        accounts.create_user(session, email=ADMIN, password=PASSWORD, role="admin", now=NOW)
        session.commit()
        assert sign_in(client, session, ADMIN).status_code == 303
        return client

    return make


def _asks_then_returns_to(response) -> str:
    """The page a redirect to "Enter your password again" goes back to afterwards."""
    assert response.status_code == 303, response.status_code
    parts = urlsplit(response.location)
    assert parts.path == "/auth/confirm"
    return parse_qs(parts.query)["next"][0]


def test_the_full_data_asks_for_the_password_after_15_minutes(staff, clock, session):
    wave = make_wave(session)
    session.commit()
    client = staff()
    full = f"/admin/waves/{wave.id}/export?format=csv&layout=wide&full=1"
    suppressed = f"/admin/waves/{wave.id}/export?format=csv&layout=wide"

    clock.advance(minutes=14)
    fresh = client.get(full)
    clock.advance(minutes=2)  # 16 minutes after signing in; active all along
    stale = client.get(full)
    still_suppressed = client.get(suppressed)
    wrong = client.post(stale.location, data={"password": "not my password"})
    right = client.post(stale.location, data={"password": PASSWORD})
    downloaded = client.get(right.location)

    assert fresh.status_code == 200 and "_full" in fresh.headers["Content-Disposition"]
    assert _asks_then_returns_to(stale) == full
    assert still_suppressed.status_code == 200
    assert wrong.status_code == 422 and "The password is not right" in wrong.text
    assert right.status_code == 303 and right.location == full
    assert downloaded.status_code == 200 and "_full" in downloaded.headers["Content-Disposition"]
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-4:] == [
        "export.download",
        "sign_in_failed",
        "sign_in.confirm",
        "export.download",
    ]


def test_an_erasure_asks_for_the_password_after_15_minutes(staff, clock, session):
    programme = make_programme(session)
    participant = make_participant(session, programme)
    make_wave(session, programme)
    session.commit()
    client = staff()
    page = f"/admin/programmes/{programme.id}/participants/{participant.id}/erase"

    clock.advance(minutes=16)
    asked = client.get(page)
    refused = client.post(page, data={"id_number": participant.id_number})
    client.post(asked.location, data={"password": PASSWORD})
    erased = client.post(page, data={"id_number": participant.id_number})

    assert _asks_then_returns_to(asked) == page and _asks_then_returns_to(refused) == page
    assert erased.status_code == 303
    session.expire_all()
    assert session.get(Participant, participant.id).erased_at is not None


def test_a_role_change_asks_for_the_password_but_other_changes_do_not(staff, clock, session):
    client = staff(STEP_UP_MINUTES=5)
    other = accounts.create_user(
        session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
    )
    session.commit()
    page = f"/admin/users/{other.id}"

    clock.advance(minutes=6)
    same_role = client.post(page, data={"role": "evaluator", "is_active": "y", "new_password": ""})
    new_role = client.post(page, data={"role": "viewer", "is_active": "y"})
    session.expire_all()
    unchanged = session.get(User, other.id).role
    client.post(new_role.location, data={"password": PASSWORD})
    again = client.post(page, data={"role": "viewer", "is_active": "y"})

    assert same_role.status_code == 303 and same_role.location == "/admin/users"
    assert _asks_then_returns_to(new_role) == page and unchanged == "evaluator"
    assert again.status_code == 303
    session.expire_all()
    assert session.get(User, other.id).role == "viewer"


def test_the_full_pack_asks_for_the_password_after_15_minutes(staff, clock, session):
    wave = make_wave(session)
    session.commit()
    client = staff()
    clock.advance(minutes=16)

    asked = client.post(f"/admin/programmes/{wave.programme_id}/pack", data={"full": "1"})

    assert _asks_then_returns_to(asked) == f"/admin/programmes/{wave.programme_id}"
    suppressed = client.post(f"/admin/programmes/{wave.programme_id}/pack", data={})
    assert urlsplit(suppressed.location).path != "/auth/confirm"
