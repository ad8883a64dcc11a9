"""Change a wave after it is made: name, dates, target, audience; a closed wave reopens."""

from datetime import datetime, timedelta

from sqlalchemy import func, select

from surveyapp.models import AuditEvent, DraftAnswer, Invitation, Message, Wave
from surveyapp.reminders import sending
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave

PEOPLE = [("A001", "North"), ("A002", "North"), ("A003", "South"), ("A004", "East")]


def _wave(session, **overrides):
    programme = make_programme(session, name="Kent pilot")
    for id_number, team in PEOPLE:
        make_participant(session, programme, id_number=id_number, team=team)
    wave = make_wave(session, programme, label="Baseline", **overrides)
    session.commit()
    return wave


def _boxes(name: str, moment: str) -> dict[str, str]:
    """Form data for a date and time typed as a person would: "29 5 2030 17:00"."""
    day, month, year, clock = moment.split()
    return {
        f"{name}_on-day": day,
        f"{name}_on-month": month,
        f"{name}_on-year": year,
        f"{name}_time": clock,
    }


def _form(**changes) -> dict:
    data = {"label": "Baseline", "target_rate": "60", **_boxes("closes", "21 5 2030 13:00")}
    data.update(changes)
    return data


def _invited(session, wave) -> list[str]:
    session.expire_all()
    return sorted(
        i.participant.id_number
        for i in session.scalars(select(Invitation).where(Invitation.wave_id == wave.id))
    )


def _changes(session) -> list[AuditEvent]:
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == "wave.change").order_by(AuditEvent.id)
    ).all()


def test_the_page_shows_the_wave_as_it_is(client, auth, session):
    auth.login()
    wave = _wave(session)

    page = client.get(f"/admin/waves/{wave.id}/edit")

    assert page.status_code == 200
    assert 'value="Baseline"' in page.text
    # Opened 30 April 2030 at 1pm London time; closes 21 May at 1pm.
    assert "A wave that has opened keeps its opening date" in page.text
    assert 'id="closes_on-day" name="closes_on-day" type="text" inputmode="numeric" value="21"' in (
        page.text
    )
    assert 'value="13:00"' in page.text
    assert client.get(f"/admin/waves/{wave.id}").text.count(f"/admin/waves/{wave.id}/edit") == 1


def test_the_name_closing_date_and_target_change_and_each_change_is_audited(client, auth, session):
    auth.login()
    wave = _wave(session)

    response = client.post(
        f"/admin/waves/{wave.id}/edit",
        data=_form(label="Baseline (extended)", target_rate="75")
        | _boxes("closes", "4 6 2030 17:00"),
    )

    assert response.status_code == 303
    session.expire_all()
    wave = session.get(Wave, wave.id)
    assert wave.label == "Baseline (extended)"
    assert wave.closes_at == datetime(2030, 6, 4, 16, 0)  # 17:00 British Summer Time
    assert wave.target_rate == 75
    [event] = _changes(session)
    assert event.summary == (
        f"Wave no. {wave.id} changed: name “Baseline” to “Baseline (extended)”; "
        "closing 21 May 2030, 1:00pm to 4 June 2030, 5:00pm; target 60% to 75%"
    )
    assert event.actor == "admin@example.org" and event.object_id == str(wave.id)
    # The final reminder was due as the wave closed, so was never sent; now it will be.
    final = sending.steps_of(session, wave)[-1]
    assert final in sending.due_steps(session, datetime(2030, 5, 21, 13, 0))


def test_bad_input_is_refused_with_a_clear_message_and_nothing_changes(client, auth, session):
    auth.login()
    wave = _wave(session)
    url = f"/admin/waves/{wave.id}/edit"
    before = (wave.label, wave.closes_at, wave.target_rate)

    cases = [
        (_form(label="New name") | _boxes("closes", "29 4 2030 09:00"), "must be after the opening"),
        (_form(label="New name", target_rate="0"), "The target must be between 1 and 100"),
        (_form(label="New name", target_rate="101"), "The target must be between 1 and 100"),
        (_form(label="New name") | {"closes_on-day": "31", "closes_on-month": "6"}, "Closing date must be a real date"),
        (_form(label="New name") | {"closes_on-month": ""}, "Closing date must include a month"),
        (_form(label="New name", closes_time="5 o'clock"), "Closing time must be a real time"),
        (_form(label="   "), "Enter a name for the wave"),
        (_form(label="New name") | _boxes("closes", "1 5 2030 09:00"), "The closing date must be in the future"),
    ]  # fmt: skip
    for data, message in cases:
        response = client.post(url, data=data)
        assert response.status_code == 422, message
        assert message in response.text
        assert "There is a problem" in response.text

    session.expire_all()
    wave = session.get(Wave, wave.id)
    assert (wave.label, wave.closes_at, wave.target_rate) == before
    assert _changes(session) == []


def test_adding_people_invites_them_and_they_get_the_reminders_to_come(client, auth, session):
    auth.login()
    wave = _wave(session, audience={"team": ["North"]})
    assert _invited(session, wave) == ["A001", "A002"]

    response = client.post(
        f"/admin/waves/{wave.id}/edit", data=_form(team=["North", "South"]), follow_redirects=True
    )

    assert "1 more person is invited." in response.text
    assert _invited(session, wave) == ["A001", "A002", "A003"]
    wave = session.get(Wave, wave.id)
    assert wave.audience == {"team": ["North", "South"]}
    [event] = _changes(session)
    assert "audience team: North to team: North, South; 1 invited" in event.summary
    added = next(i for i in wave.invitations if i.participant.id_number == "A003")
    first_reminder = sending.steps_of(session, wave)[1]
    assert added in sending.recipients(session, first_reminder)


def test_people_who_have_answered_cannot_be_left_out_and_the_message_says_how_many(
    client, auth, session
):
    auth.login()
    wave = _wave(session)
    by_id = {i.participant.id_number: i for i in wave.invitations}
    by_id["A003"].completed_at = NOW  # South: sent their answers
    session.add(  # East: saved a page on the way
        DraftAnswer(invitation=by_id["A004"], answer_id="q1", value="3", updated_at=NOW)
    )
    session.commit()

    refused = client.post(f"/admin/waves/{wave.id}/edit", data=_form(team=["North"]))

    assert refused.status_code == 422
    assert "2 people have answered and would be left out of the new audience" in refused.text
    assert _invited(session, wave) == ["A001", "A002", "A003", "A004"]
    assert session.get(Wave, wave.id).audience == {}

    allowed = client.post(
        f"/admin/waves/{wave.id}/edit", data=_form(team=["North", "South", "East"])
    )
    assert allowed.status_code == 303
    assert _invited(session, wave) == ["A001", "A002", "A003", "A004"]


def test_people_who_have_not_answered_are_taken_out_with_their_queued_messages(
    client, auth, session
):
    auth.login()
    wave = _wave(session)
    settings = sending.SendSettings(base_url="http://localhost")
    invitation_step = sending.steps_of(session, wave)[0]
    assert sending.queue_step(session, invitation_step, now=NOW, settings=settings) == 4
    session.commit()

    response = client.post(
        f"/admin/waves/{wave.id}/edit", data=_form(team=["North"]), follow_redirects=True
    )

    assert "2 people are no longer invited." in response.text
    assert _invited(session, wave) == ["A001", "A002"]
    assert session.scalar(select(func.count(Message.id)).where(Message.wave_id == wave.id)) == 2
    assert "2 taken out" in _changes(session)[0].summary


def test_a_closed_wave_reopens_with_a_closing_date_in_the_future(client, auth, session):
    auth.login()
    wave = _wave(session)
    token = wave.invitations[0].token
    client.post(f"/admin/waves/{wave.id}/close")
    assert "This questionnaire closed on" in client.get(f"/r/{token}", follow_redirects=True).text
    session.expire_all()
    assert session.get(Wave, wave.id).closes_at == NOW
    page = client.get(f"/admin/waves/{wave.id}/edit")
    assert "Give it a closing date in the future to reopen it" in page.text

    response = client.post(
        f"/admin/waves/{wave.id}/edit",
        data=_form() | _boxes("closes", "15 5 2030 17:00"),
        follow_redirects=True,
    )

    assert "It is open again" in response.text
    session.expire_all()
    assert session.get(Wave, wave.id).closes_at == datetime(2030, 5, 15, 16, 0)
    assert "(reopened)" in _changes(session)[0].summary
    started = client.get(f"/r/{token}", follow_redirects=True)
    assert started.status_code == 200 and "This questionnaire closed" not in started.text


def test_the_plan_follows_an_earlier_closing_and_says_which_steps_will_not_be_sent(
    client, auth, session
):
    auth.login()
    wave = _wave(session)

    response = client.post(
        f"/admin/waves/{wave.id}/edit",
        data=_form() | _boxes("closes", "10 5 2030 17:00"),  # before the second reminder
        follow_redirects=True,
    )

    assert (
        "Due after the wave closes, so not sent: “Second reminder”, “Final personal reminder”."
        in response.text
    )
    plan = client.get(f"/admin/waves/{wave.id}/reminders").text
    assert plan.count("Not sent: the wave closes first") == 2
    session.expire_all()
    second = sending.steps_of(session, wave)[2]
    assert second not in sending.due_steps(session, datetime(2030, 5, 14, 13, 0))


def test_a_wave_not_yet_open_can_move_its_opening_and_its_steps_move_with_it(client, auth, session):
    auth.login()
    wave = _wave(session, opens_at=NOW + timedelta(days=5), closes_at=NOW + timedelta(days=30))

    response = client.post(
        f"/admin/waves/{wave.id}/edit",
        data=_form() | _boxes("opens", "13 5 2030 09:00") | _boxes("closes", "7 6 2030 17:00"),
    )

    assert response.status_code == 303
    session.expire_all()
    wave = session.get(Wave, wave.id)
    assert wave.opens_at == datetime(2030, 5, 13, 8, 0)
    first_reminder = sending.steps_of(session, wave)[1]
    assert sending.due_at(first_reminder) == datetime(2030, 5, 20, 8, 0)  # a week on, a Monday
    assert "opening 6 May 2030, 1:00pm to 13 May 2030, 9:00am" in _changes(session)[0].summary


def test_the_audit_log_is_searched_by_days_typed_in_day_month_and_year_boxes(client, auth, session):
    auth.login()
    wave = _wave(session)
    client.post(f"/admin/waves/{wave.id}/edit", data=_form(label="Renamed"))

    found = client.get(
        "/admin/audit?since-day=1&since-month=5&since-year=2030"
        "&until-day=1&until-month=5&until-year=2030"
    )
    before = client.get("/admin/audit?until-day=30&until-month=4&until-year=2030")
    impossible = client.get("/admin/audit?since-day=31&since-month=4&since-year=2030")

    assert 'name="since-day" type="text" inputmode="numeric" value="1"' in found.text
    assert "Wave changed" in found.text and "Renamed" in found.text
    assert "Renamed" not in before.text
    assert "From date must be a real date" in impossible.text
    assert 'type="date"' not in found.text
