"""Two tabs on one link: a page opened before answers were saved elsewhere never replaces them unseen."""

import re

from sqlalchemy import select

from surveyapp.models import DraftAnswer
from tests.factories import make_invitation


def _version(html: str) -> str:
    return re.search(r'name="version" id="page-version" value="([0-9a-f]+)"', html).group(1)


def _first_page(data):
    return {"page_id": "about_the_session", **data}


def test_the_answers_saved_elsewhere_can_be_kept(client, session):
    old, _ = _two_tabs(client, session)
    client.post("/r/page/about_the_session", data=_first_page({**MENTORING, "version": old}))
    stale = client.post("/r/page/about_the_session", data=_first_page({**TRAINING, "version": old}))

    kept = client.get(re.search(r'href="([^"]+)">keep the answers saved elsewhere', stale.text)[1])

    assert kept.status_code == 200 and "Your views on the session" in kept.text
    assert _drafts(session)["session_type"] == 2


def _drafts(session):
    session.expire_all()
    return {row.answer_id: row.value for row in session.scalars(select(DraftAnswer))}


MENTORING = {"session_type": "2", "session_role": "1", "session_number": "3"}
TRAINING = {"session_type": "3", "session_role": "2", "session_number": "4"}


def _two_tabs(client, session):
    invitation = make_invitation(session)
    session.commit()
    client.get(f"/r/{invitation.token}")
    first = client.get("/r/page/about_the_session")
    second = client.get("/r/page/about_the_session")
    return _version(first.text), _version(second.text)


def test_a_stale_tab_shows_both_answers_and_saves_nothing_until_the_person_chooses(client, session):
    old, also_old = _two_tabs(client, session)
    assert old == also_old
    saved = client.post(
        "/r/page/about_the_session", data=_first_page({**MENTORING, "version": also_old})
    )
    assert saved.status_code == 303

    stale = client.post("/r/page/about_the_session", data=_first_page({**TRAINING, "version": old}))

    assert stale.status_code == 200
    assert "saved in another tab or on another device after you opened this page" in stale.text
    assert "Nothing from this page has been saved yet" in stale.text
    assert "Mentoring or peer supervision session" in stale.text  # saved in the other tab
    assert "Training or practical day" in stale.text  # typed in this one
    # The form holds this tab's answers; a link keeps the other tab's and goes on.
    assert 'name="session_type" type="radio" value="3" checked' in stale.text
    assert 'value="4"' in re.search(r'<input[^>]*id="session_number"[^>]*>', stale.text).group(0)
    assert 'href="/r/page/your_views">keep the answers saved elsewhere</a>' in stale.text
    drafts = _drafts(session)
    assert (drafts["session_type"], drafts["session_role"], drafts["session_number"]) == (2, 1, 3)

    # Continue again on the page now shown keeps this tab's answers, knowingly.
    chosen = client.post(
        "/r/page/about_the_session",
        data=_first_page({**TRAINING, "version": _version(stale.text)}),
    )
    assert chosen.status_code == 303
    drafts = _drafts(session)
    assert (drafts["session_type"], drafts["session_role"], drafts["session_number"]) == (3, 2, 4)


def test_a_stale_tab_that_says_the_same_is_saved_without_a_question(client, session):
    old, _ = _two_tabs(client, session)
    client.post("/r/page/about_the_session", data=_first_page({**MENTORING, "version": old}))

    again = client.post(
        "/r/page/about_the_session", data=_first_page({**MENTORING, "version": old})
    )

    assert again.status_code == 303


def test_a_stale_tab_with_an_error_still_shows_the_other_answers_next_time(client, session):
    old, _ = _two_tabs(client, session)
    client.post("/r/page/about_the_session", data=_first_page({**MENTORING, "version": old}))

    wrong = client.post(
        "/r/page/about_the_session",
        data=_first_page({**TRAINING, "session_number": "500", "version": old}),
    )
    assert wrong.status_code == 422
    fixed = client.post(
        "/r/page/about_the_session", data=_first_page({**TRAINING, "version": _version(wrong.text)})
    )

    assert fixed.status_code == 200
    assert "saved in another tab or on another device" in fixed.text
    assert _drafts(session)["session_type"] == 2


def test_a_stale_tab_does_not_keep_its_long_answer_over_one_saved_since(client, session):
    old, _ = _two_tabs(client, session)
    client.post("/r/page/about_the_session", data=_first_page({**MENTORING, "version": old}))
    opened = _version(client.get("/r/page/your_views").text)

    mine = client.post(
        "/r/page/your_views/draft",
        data={"action_agreed": "Book time with my mentor", "version": opened},
        headers={"HX-Request": "true"},
    )
    other = client.post(
        "/r/page/your_views/draft",
        data={"action_agreed": "Something else", "version": opened},
        headers={"HX-Request": "true"},
    )

    # The tab that saved learns the page's new version, so its own saves are not "another tab".
    assert mine.status_code == 200 and 'hx-swap-oob="true"' in mine.text
    assert _version(mine.text) != opened
    assert other.status_code == 204
    assert _drafts(session)["action_agreed"] == "Book time with my mentor"
