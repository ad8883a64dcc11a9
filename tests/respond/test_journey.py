"""A participant's journey through the HTTP client: links, pages, resuming, sending once."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveyapp import PROJECT_ROOT
from surveyapp.models import Answer, DraftAnswer, Invitation, Response
from surveyapp.questionnaires import load_all
from surveyapp.questionnaires.answers import read_page
from tests.conftest import NOW
from tests.factories import make_invitation
from tests.participant import complete, page_data

SHIPPED = load_all(PROJECT_ROOT / "questionnaires").questionnaires


def _count(session, model):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_every_shipped_questionnaire_can_be_completed(client, session, key):
    invitation = make_invitation(session, key=key)
    session.commit()

    final = complete(client, invitation.token, SHIPPED[key])

    assert "Thank you, your answers have been sent" in final.text
    session.expire_all()
    assert invitation.completed_at == NOW
    response = session.scalar(select(Response))
    assert response.participant_id == invitation.participant_id
    assert len(response.answers) > 0
    assert _count(session, DraftAnswer) == 0


def test_the_link_is_exchanged_for_a_session_and_leaves_the_address(client, session):
    invitation = make_invitation(session)
    session.commit()

    exchanged = client.get(f"/r/{invitation.token}")
    start = client.get(exchanged.location)

    assert exchanged.status_code == 303
    assert exchanged.location == "/r/"
    assert invitation.token not in start.text
    assert "Session evaluation" in start.text
    assert "kept with your ID number" in start.text
    assert start.headers["Referrer-Policy"] == "no-referrer"
    assert start.headers["Cache-Control"] == "no-store"


def test_wrong_and_withdrawn_links_look_the_same(client, session):
    invitation = make_invitation(session)
    invitation.participant.withdrawn_at = NOW
    session.commit()

    withdrawn = client.get(f"/r/{invitation.token}")
    wrong = client.get("/r/" + "x" * 22)
    no_session = client.get("/r/page/anything")

    assert withdrawn.status_code == wrong.status_code == no_session.status_code == 404
    assert withdrawn.text == wrong.text == no_session.text
    assert "This link is not active" in wrong.text


@pytest.mark.parametrize(
    ("opens", "closes", "words"),
    [(1, 5, "This questionnaire opens on"), (-5, -1, "This questionnaire closed on")],
)
def test_a_wave_not_open_says_so_and_takes_no_answers(client, session, opens, closes, words):
    invitation = make_invitation(
        session, opens_at=NOW + timedelta(days=opens), closes_at=NOW + timedelta(days=closes)
    )
    session.commit()
    client.get(f"/r/{invitation.token}")
    first = SHIPPED["session_evaluation"].pages[0]

    start = client.get("/r/")
    posted = client.post(f"/r/page/{first.id}", data=page_data(first))

    assert words in start.text
    assert posted.status_code == 303 and posted.location == "/r/"
    assert _count(session, DraftAnswer) == 0


def test_skipping_a_page_by_address_returns_to_the_current_page(client, session):
    invitation = make_invitation(session, key="peer_support_baseline")
    session.commit()
    client.get(f"/r/{invitation.token}")
    pages = SHIPPED["peer_support_baseline"].pages

    skipped = client.get(f"/r/page/{pages[2].id}")
    forged = client.post(f"/r/page/{pages[2].id}", data=page_data(pages[2]))

    assert skipped.location == f"/r/page/{pages[0].id}"
    assert forged.location == f"/r/page/{pages[0].id}"
    assert _count(session, DraftAnswer) == 0


def test_an_option_that_does_not_exist_is_refused_beside_the_item(client, session):
    invitation = make_invitation(session, key="peer_support_baseline")
    session.commit()
    client.get(f"/r/{invitation.token}")
    page = SHIPPED["peer_support_baseline"].pages[0]
    data = page_data(page) | {"role": ["99"]}

    response = client.post(f"/r/page/{page.id}", data=data)

    assert response.status_code == 422
    assert "Select one of the answers shown" in response.text
    assert 'href="#role"' in response.text
    assert _count(session, DraftAnswer) == 0


def test_text_over_its_limit_is_refused(client, session):
    invitation = make_invitation(session, key="session_evaluation")
    session.commit()
    client.get(f"/r/{invitation.token}")
    questionnaire = SHIPPED["session_evaluation"]
    page = next(p for p in questionnaire.pages if any(i.type == "long_text" for i in p.items))
    item = next(i for i in page.items if i.type == "long_text")
    for earlier in questionnaire.pages[: questionnaire.pages.index(page)]:
        client.post(f"/r/page/{earlier.id}", data=page_data(earlier))
    data = page_data(page) | {item.id: ["x" * (item.max_length + 1)]}

    response = client.post(f"/r/page/{page.id}", data=data)

    assert response.status_code == 422
    assert f"Answer must be {item.max_length:,} characters or fewer" in response.text


def test_coming_back_on_another_device_resumes_on_the_first_unanswered_page(app, session):
    invitation = make_invitation(session, key="peer_support_baseline")
    session.commit()
    pages = SHIPPED["peer_support_baseline"].pages
    laptop, phone = app.test_client(), app.test_client()
    laptop.get(f"/r/{invitation.token}")
    laptop.post(f"/r/page/{pages[0].id}", data=page_data(pages[0]))

    phone.get(f"/r/{invitation.token}")
    start = phone.get("/r/")

    assert "Continue where you left off" in start.text
    assert f'href="/r/page/{pages[1].id}"' in start.text
    first_again = phone.get(f"/r/page/{pages[0].id}")
    assert 'value="2" checked' in first_again.text or "checked" in first_again.text


def test_double_clicking_continue_stores_each_answer_once(client, session):
    invitation = make_invitation(session, key="session_evaluation")
    session.commit()
    client.get(f"/r/{invitation.token}")
    page = SHIPPED["session_evaluation"].pages[0]

    first = client.post(f"/r/page/{page.id}", data=page_data(page))
    second = client.post(f"/r/page/{page.id}", data=page_data(page))

    assert first.status_code == second.status_code == 303
    assert _count(session, DraftAnswer) == len(read_page(page, page_data(page), {}).values)


def test_sending_twice_stores_once_and_later_posts_change_nothing(client, session):
    invitation = make_invitation(session)
    session.commit()
    complete(client, invitation.token, SHIPPED["session_evaluation"])
    answers_before = _count(session, Answer)
    page = SHIPPED["session_evaluation"].pages[0]

    again = client.post("/r/submit")
    replay = client.post(f"/r/page/{page.id}", data=page_data(page))
    start = client.get("/r/")

    assert again.location == "/r/complete"
    assert replay.location == "/r/complete"
    assert start.location == "/r/complete"
    assert _count(session, Response) == 1
    assert _count(session, Answer) == answers_before
    assert _count(session, DraftAnswer) == 0


def test_sending_before_every_page_is_answered_goes_to_the_missing_page(client, session):
    invitation = make_invitation(session)
    session.commit()
    client.get(f"/r/{invitation.token}")

    response = client.post("/r/submit")

    assert response.location == f"/r/page/{SHIPPED['session_evaluation'].pages[0].id}"
    assert _count(session, Response) == 0


def test_a_ten_megabyte_post_is_refused(client, session):
    invitation = make_invitation(session)
    session.commit()
    client.get(f"/r/{invitation.token}")
    page = SHIPPED["session_evaluation"].pages[0]

    response = client.post(f"/r/page/{page.id}", data={"page_id": page.id, "x": "y" * 10_000_000})

    assert response.status_code == 413
    assert _count(session, DraftAnswer) == 0


def test_anonymous_answers_keep_only_the_team_and_nothing_that_points_back(client, session):
    invitation = make_invitation(
        session,
        key="leadership_culture",
        privacy="anonymous",
        participant={"team": "South", "role": "Peer supporter"},
    )
    session.commit()

    complete(client, invitation.token, SHIPPED["leadership_culture"])

    session.expire_all()
    response = session.scalar(select(Response))
    assert response.participant_id is None
    assert (response.team, response.role) == ("South", "Peer supporter")
    assert len(response.id) == 32 and response.id != str(invitation.id)
    # The invitation keeps that the person finished, and the day, but no time.
    assert (invitation.completed_at, invitation.completed_on) == (None, NOW.date())
    assert invitation.is_completed
    assert _count(session, DraftAnswer) == 0
    columns = set(Response.__table__.columns.keys())
    assert not columns & {"invitation_id", "submitted_at", "created_at", "token"}


def test_answers_on_a_page_that_stopped_applying_are_not_kept(client, session):
    key = "peer_support_baseline"
    questionnaire = SHIPPED[key]
    invitation = make_invitation(session, key=key)
    session.commit()
    client.get(f"/r/{invitation.token}")
    first = questionnaire.pages[0]
    supporter_page = next(p for p in questionnaire.pages if p.show_if is not None)
    # As a peer supporter (role 2) the extra page is shown and answered…
    client.post(f"/r/page/{first.id}", data=page_data(first) | {"role": ["2"]})
    for page in questionnaire.pages[1:]:
        client.post(f"/r/page/{page.id}", data=page_data(page))
    # …then the participant changes their role to peer (1) before sending.
    client.post(f"/r/page/{first.id}", data=page_data(first) | {"role": ["1"]})
    client.post("/r/submit")

    session.expire_all()
    stored = {answer.answer_id for answer in session.scalars(select(Answer))}
    hidden = {aid for item in supporter_page.items for aid in item.answer_ids()}
    assert stored and not stored & hidden


def test_long_text_is_kept_while_typing(client, session):
    invitation = make_invitation(session)
    session.commit()
    client.get(f"/r/{invitation.token}")
    questionnaire = SHIPPED["session_evaluation"]
    page = next(p for p in questionnaire.pages if any(i.type == "long_text" for i in p.items))
    item = next(i for i in page.items if i.type == "long_text")
    for earlier in questionnaire.pages[: questionnaire.pages.index(page)]:
        client.post(f"/r/page/{earlier.id}", data=page_data(earlier))

    saved = client.post(
        f"/r/page/{page.id}/draft", data={item.id: "Half a thought"}, headers={"HX-Request": "true"}
    )

    assert saved.status_code == 204
    session.expire_all()
    draft = session.scalar(select(DraftAnswer).where(DraftAnswer.answer_id == item.id))
    assert draft.value == "Half a thought"
    assert "Half a thought" in client.get(f"/r/page/{page.id}").text


def test_htmx_posts_get_the_next_page_through_a_redirect(client, session):
    invitation = make_invitation(session, key="peer_support_baseline")
    session.commit()
    client.get(f"/r/{invitation.token}")
    pages = SHIPPED["peer_support_baseline"].pages

    posted = client.post(
        f"/r/page/{pages[0].id}",
        data=page_data(pages[0]),
        headers={"HX-Request": "true", "HX-Boosted": "true"},
        follow_redirects=True,
    )

    assert posted.status_code == 200
    assert pages[1].title in posted.text
    assert "Page 2 of" in posted.text


def test_concurrent_posts_of_the_same_page_store_one_answer_each(make_app, session):
    import threading

    invitation = make_invitation(session)
    session.commit()
    page = SHIPPED["session_evaluation"].pages[0]
    apps = [make_app(), make_app()]  # two app instances: two connection pools, like two workers
    barrier = threading.Barrier(2)
    results = []

    def post(app):
        client = app.test_client()
        client.get(f"/r/{invitation.token}")
        barrier.wait()
        results.append(client.post(f"/r/page/{page.id}", data=page_data(page)).status_code)

    threads = [threading.Thread(target=post, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [303, 303]
    assert _count(session, DraftAnswer) == len(read_page(page, page_data(page), {}).values)


def test_concurrent_sends_make_one_response(make_app, session):
    import threading

    invitation = make_invitation(session)
    session.commit()
    apps = [make_app(), make_app()]
    first = apps[0].test_client()
    complete_pages = SHIPPED["session_evaluation"]
    first.get(f"/r/{invitation.token}")
    for page in complete_pages.pages:
        first.post(f"/r/page/{page.id}", data=page_data(page))
    barrier = threading.Barrier(2)
    results = []

    def send(app):
        client = app.test_client()
        client.get(f"/r/{invitation.token}")
        barrier.wait()
        results.append(client.post("/r/submit").location)

    threads = [threading.Thread(target=send, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == ["/r/complete", "/r/complete"]
    assert _count(session, Response) == 1
    assert session.scalar(select(Invitation.completed_at)) == NOW


def test_a_question_revealed_by_an_answer_on_the_same_page_is_asked_before_moving_on(
    client, session
):
    key = "peer_support_baseline"
    questionnaire = SHIPPED[key]
    page = next(
        p
        for p in questionnaire.pages
        if any(
            i.show_if and any(o.id in next(iter(i.show_if.item_ids()), "") for o in p.items)
            for i in p.items
        )
    )
    follow_up = next(
        i
        for i in page.items
        if i.show_if and next(iter(i.show_if.item_ids())) in {o.id for o in page.items}
    )
    invitation = make_invitation(session, key=key)
    session.commit()
    client.get(f"/r/{invitation.token}")
    for earlier in questionnaire.pages[: questionnaire.pages.index(page)]:
        client.post(f"/r/page/{earlier.id}", data=page_data(earlier))
    shown_first = [i.id for i in page.items if i.show_if is None or i is not follow_up]
    data = page_data(page) | {
        "shown_items": [" ".join(i for i in shown_first if i != follow_up.id)]
    }
    trigger = next(iter(follow_up.show_if.item_ids()))
    data[trigger] = [str(getattr(follow_up.show_if, "value", None) or follow_up.show_if.values[0])]

    again = client.post(f"/r/page/{page.id}", data=data)

    assert again.status_code == 200
    assert "Your answers mean there is another question on this page" in again.text
    assert f'name="{follow_up.id}"' in again.text
    assert _count(session, DraftAnswer) > 0  # earlier pages only
    session.expire_all()
    stored = {d.answer_id for d in session.scalars(select(DraftAnswer))}
    assert trigger not in stored
