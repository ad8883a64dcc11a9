"""Every admin route, walked with every role, against the one permissions table.

Each role is a member of programme A only. On A's objects a role answers as
the table says (403 where it may not); on programme B's objects anyone but an
administrator gets 404, as if B did not exist.
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from surveyapp import PROJECT_ROOT
from surveyapp.models import Attendance, EvaluationRule, Message, ProgrammeSession, Response
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.staff import access
from surveyapp.staff import operations as accounts
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave
from tests.participant import complete

ROLES = list(access.ROLE_NAMES)


def _objects(session, programme):
    participant = make_participant(session, programme)
    wave = make_wave(session, programme, key="leadership_culture")
    invitation = wave.invitations[0]
    step = _steps(session, wave)[0]
    message = Message(
        wave_id=wave.id,
        step_id=step.id,
        invitation_id=invitation.id,
        to_address=participant.email,
        subject="Please answer",
        body="Hello",
        state="sent",
        queued_at=NOW,
        sent_at=NOW,
    )
    session.add(message)
    rule = EvaluationRule(
        programme=programme, questionnaire_key="session_evaluation", created_at=NOW
    )
    session.add(rule)
    programme_session = ProgrammeSession(
        programme=programme,
        kind="als_meeting",
        starts_at=NOW - timedelta(days=2),
        ends_at=NOW - timedelta(days=2, hours=-2),
        expected={},
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(programme_session)
    session.flush()
    return {
        "rule_id": rule.id,
        "session_id": programme_session.id,
        "programme_id": programme.id,
        "participant_id": participant.id,
        "wave_id": wave.id,
        "invitation_id": invitation.id,
        "step_id": step.id,
        "template_id": step.template_id,
        "message_id": message.id,
        "key": "session_evaluation",
        "number": 1,
        "page_id": "about_the_session",
    }


def _steps(session, wave):
    from surveyapp.models import ReminderStep

    return session.scalars(
        select(ReminderStep).where(ReminderStep.wave_id == wave.id).order_by(ReminderStep.position)
    ).all()


@pytest.fixture
def two_programmes(session):
    mine, theirs = make_programme(session, name="Ours"), make_programme(session, name="Theirs")
    ids = _objects(session, mine), _objects(session, theirs)
    session.commit()
    return ids


def _admin_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/") and rule.endpoint != "people.index":
            yield rule


def _url(rule, ids, user_id):
    values = {name: ids.get(name, user_id) for name in rule.arguments}
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def _capability(app, rule):
    return app.view_functions[rule.endpoint].capability


def test_every_admin_route_declares_a_capability_from_the_table(app):
    for rule in _admin_rules(app):
        assert _capability(app, rule) in access.PERMISSIONS, rule.rule


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_permissions_table_says(
    app, client, auth, session, two_programmes, role
):
    ours, _ = two_programmes
    auth.login(email=f"{role}@example.org", role=role, programmes=[ours["programme_id"]])
    me = accounts.find_user(session, f"{role}@example.org").id
    wrong = []
    for rule in _admin_rules(app):
        allowed = role in access.PERMISSIONS[_capability(app, rule)][1]
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(_url(rule, ours, me), method=method)
        denied = response.status_code == 403
        if allowed == denied or response.status_code in (404, 500):
            wrong.append(f"{method} {rule.rule}: {response.status_code} for {role}")
    assert wrong == []


@pytest.mark.parametrize("role", ["programme_manager", "evaluator", "viewer", "facilitator"])
def test_another_programmes_objects_answer_404(app, client, auth, session, two_programmes, role):
    ours, theirs = two_programmes
    auth.login(email=f"{role}@example.org", role=role, programmes=[ours["programme_id"]])
    answered = {}
    for rule in _admin_rules(app):
        if not set(rule.arguments) & {"programme_id", "wave_id"}:
            continue
        if role not in access.PERMISSIONS[_capability(app, rule)][1]:
            continue  # refused for the role anywhere: 403 says nothing about the programme
        method = "GET" if "GET" in rule.methods else "POST"
        answered[rule.rule] = client.open(_url(rule, theirs, 1), method=method).status_code
    assert answered and set(answered.values()) == {404}, answered
    assert session.scalar(select(func.count()).select_from(Response)) == 0


def test_the_programme_list_shows_only_a_members_programmes(client, auth, two_programmes):
    ours, _ = two_programmes
    auth.login(email="eva@example.org", role="evaluator", programmes=[ours["programme_id"]])
    page = client.get("/admin/programmes").text
    assert "Ours" in page and "Theirs" not in page


def test_an_evaluator_sees_results_but_never_names_or_emails(client, auth, session):
    programme = make_programme(session, name="Kent")
    make_participant(session, programme, name="Siân Jones", email="sian@example.org")
    wave = make_wave(session, programme, key="session_evaluation")
    token = wave.invitations[0].token
    session.commit()
    complete(client, token, questionnaire_of(wave.questionnaire_version))
    assert session.scalar(select(func.count()).select_from(Response)) == 1
    auth.login(email="eva@example.org", role="evaluator")

    pages = [
        client.get(f"/admin/programmes/{programme.id}"),
        client.get(f"/admin/waves/{wave.id}/dashboard"),
        client.get(f"/admin/waves/{wave.id}/results"),
        # One response is under the threshold: the export says so instead of writing.
        client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide", follow_redirects=True),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200, 422]
    assert "fewer than the reporting threshold" in pages[3].text
    for page in pages:
        assert "Siân" not in page.text and "sian@example.org" not in page.text


def test_the_readme_prints_the_permissions_table():
    readme = Path(PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for text, allowed in access.permission_rows():
        row = "| " + " | ".join([text] + ["Yes" if yes else "No" for yes in allowed]) + " |"
        assert row in readme, row


@pytest.mark.parametrize("role", ROLES)
def test_no_page_offers_a_link_its_reader_may_not_follow(client, auth, two_programmes, role):
    ours, _ = two_programmes
    auth.login(email=f"{role}@example.org", role=role, programmes=[ours["programme_id"]])
    seen, queue, refused = set(), ["/admin/programmes"], []
    while queue and len(seen) < 120:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code in (403, 404):
            refused.append(f"{url}: {response.status_code}")
            continue
        if response.mimetype != "text/html":
            continue
        for link in re.findall(r'href="(/admin/[^"#]*)', response.text):
            link = link.replace("&amp;", "&")
            if "download=" not in link and "format=" not in link and link not in seen:
                queue.append(link)
    assert len(seen) > 3
    assert refused == []


def test_a_facilitator_keeps_registers_but_plans_nothing_and_sees_no_answers(
    client, auth, session, two_programmes
):
    ours, _ = two_programmes
    auth.login(email="fay@example.org", role="facilitator", programmes=[ours["programme_id"]])
    programme = f"/admin/programmes/{ours['programme_id']}"
    register = f"{programme}/sessions/{ours['session_id']}/register"

    assert client.get(f"{programme}/sessions").status_code == 200
    assert client.get(register).status_code == 200
    saved = client.post(register, data={"came": [str(ours["participant_id"])]})
    assert saved.status_code == 303
    session.expire_all()
    row = session.get(Attendance, (ours["session_id"], ours["participant_id"]))
    assert row.attended is True and row.recorded_by is not None
    for refused in (
        f"{programme}/sessions/new",
        f"{programme}/sessions/import",
        f"{programme}/sessions/{ours['session_id']}/edit",
        f"{programme}/participants",
        f"/admin/waves/{ours['wave_id']}/results",
        f"/admin/waves/{ours['wave_id']}/export?format=csv&layout=wide",
    ):
        assert client.get(refused).status_code == 403, refused
    listed = client.get(f"{programme}/sessions").text
    assert "Register" in listed and "Add a session" not in listed and "Results" not in listed
