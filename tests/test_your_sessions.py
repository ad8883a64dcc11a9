"""Your own sessions on *Your account*: each browser signed in as you, and signing one out."""

import re

from sqlalchemy import select

from surveyapp.models import AuditEvent, StaffSession
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD, sign_in

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def _browser(app, agent):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    return client


def _signed_in(client):
    return client.get("/admin/programmes").status_code == 200


def _viewer(session):
    user = accounts.create_user(
        session, email="vi@example.org", password=PASSWORD, role="viewer", now=NOW
    )
    session.commit()
    return user


def test_the_account_page_lists_each_browser_and_marks_this_one(app, session):
    _viewer(session)
    laptop, phone = _browser(app, FIREFOX), _browser(app, IPHONE)
    sign_in(laptop, session, "vi@example.org")
    sign_in(phone, session, "vi@example.org")

    page = laptop.get("/auth/account").text
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', page, re.S)[1:]

    assert len(rows) == 2
    assert "Firefox on Windows" in rows[0] and "This browser" in rows[0]
    assert "Mobile Safari on iOS" in rows[1] and "This browser" not in rows[1]
    assert "1 May 2030" in rows[1] and "Sign out" in rows[1]


def test_signing_out_one_other_browser_leaves_the_rest(app, session):
    _viewer(session)
    laptop, phone, tablet = (_browser(app, agent) for agent in (FIREFOX, IPHONE, "Tablet/1"))
    for client in (laptop, phone, tablet):
        sign_in(client, session, "vi@example.org")
    session.expire_all()
    phones = session.scalar(select(StaffSession).where(StaffSession.user_agent == IPHONE))

    ended = laptop.post(f"/auth/sessions/{phones.id}/end")

    assert ended.status_code == 303 and ended.location == "/auth/account"
    assert "Mobile Safari on iOS, signed in 1 May 2030" in laptop.get(ended.location).text
    assert (_signed_in(laptop), _signed_in(phone), _signed_in(tablet)) == (True, False, True)
    assert "Mobile Safari" not in laptop.get("/auth/account").text
    action = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first()
    assert action == "sign_out.one"


def test_nobody_signs_out_another_persons_browser(app, session):
    _viewer(session)
    accounts.create_user(
        session, email="other@example.org", password=PASSWORD, role="viewer", now=NOW
    )
    session.commit()
    mine, theirs = _browser(app, FIREFOX), _browser(app, IPHONE)
    sign_in(mine, session, "vi@example.org")
    sign_in(theirs, session, "other@example.org")
    session.expire_all()
    their_row = session.scalar(select(StaffSession).where(StaffSession.user_agent == IPHONE))

    mine.post(f"/auth/sessions/{their_row.id}/end")

    assert _signed_in(theirs)


def test_signing_out_everywhere_else_empties_the_list_but_for_this_browser(app, session):
    _viewer(session)
    laptop, phone = _browser(app, FIREFOX), _browser(app, IPHONE)
    sign_in(laptop, session, "vi@example.org")
    sign_in(phone, session, "vi@example.org")

    laptop.post("/auth/sessions/end-others")
    page = laptop.get("/auth/account").text

    assert "Firefox on Windows" in page and "Mobile Safari" not in page
    assert _signed_in(laptop) and not _signed_in(phone)


def test_a_new_role_from_an_administrator_ends_the_persons_sessions(app, client, auth, session):
    user = _viewer(session)
    auth.login()
    theirs = _browser(app, IPHONE)
    sign_in(theirs, session, "vi@example.org")

    client.post(f"/admin/users/{user.id}", data={"role": "evaluator", "is_active": "y"})

    assert not _signed_in(theirs)
    session.expire_all()
    live = session.scalars(select(StaffSession).where(StaffSession.user_id == user.id)).all()
    assert [row.session_version for row in live] == [0]  # the account's is now 1
    assert user.session_version == 1
