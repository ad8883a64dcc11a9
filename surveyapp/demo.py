"""Demo data: a fictional programme, cohort and two open waves (Flask-free).

Built through the same functions that handle real data, so the demo shows
what a real programme looks like. Running it again changes nothing already there.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp.models import Invitation, Message, Participant, Programme, Wave
from surveyapp.people import cohort_file, roster
from surveyapp.questionnaires import Questionnaire, catalogue
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.reminders import sending
from surveyapp.respond import flow
from surveyapp.waves import operations as waves

PROGRAMME_NAME = "Demo: pilot peer support programme"
FIRST_NAMES = [
    "Siân",
    "Amara",
    "Tomasz",
    "Priya",
    "Gareth",
    "Chloë",
    "Kwame",
    "Niamh",
    "Oluwaseun",
    "Fiona",
    "Imran",
    "Bethan",
    "Marek",
    "Aisha",
    "Callum",
    "Zofia",
    "Declan",
    "Hannah",
    "Ravi",
    "Eilidh",
    "Joseph",
    "Mei",
    "Aled",
    "Grace",
    "Femi",
    "Rhiannon",
    "Stuart",
    "Yasmin",
    "Ciarán",
    "Lowri",
]
SURNAMES = [
    "Ó Dónaill",
    "Okafor",
    "Nowak",
    "Sharma",
    "Davies",
    "Martin",
    "Mensah",
    "O'Brien",
    "Adeyemi",
    "MacLeod",
    "Hussain",
    "Pritchard",
    "Kowalski",
    "Begum",
    "Fraser",
    "Wiśniewska",
    "Murphy",
    "Clarke",
    "Patel",
    "Campbell",
    "Evans",
    "Chen",
    "Jones",
    "Thompson",
    "Bello",
    "Morgan",
    "Reid",
    "Khan",
    "Ó Briain",
    "Hughes",
]
TEAMS = [
    ("Children in care, North", "Kent County Council", "South East"),
    ("Referral and assessment", "Kent County Council", "South East"),
    ("Early help, East", "Medway Council", "South East"),
    ("Disabled children", "London Borough of Camden", "London"),
    ("Fostering and adoption", "Lancashire County Council", "North West"),
]


DEMO_TEXT = [
    "Meeting other managers who face the same pressures.",
    "Time to think about how I lead my team, away from the day job.",
    "Practical ideas I could try the following week.",
]


def sample_answers(questionnaire: Questionnaire, rng: random.Random, lean: float = 0.0) -> dict:
    """Make a plausible complete set of answers, page by page, respecting every condition.

    ``lean`` (-1 to 1) tilts Likert and bipolar answers, so teams differ in the demo.
    """
    answers: dict = {}
    for page in questionnaire.pages:
        if not page.is_shown(answers):
            continue
        for item in page.items:
            if not item.is_shown(answers):
                continue
            for answer_id, value in _sample_item(item, rng, lean).items():
                answers[answer_id] = value
    return questionnaire.relevant_answers(answers)


def _tilted(points: list, rng: random.Random, lean: float):
    position = min(max(rng.gauss(0.6 + 0.25 * lean, 0.22), 0.0), 0.999)
    return points[int(position * len(points))]


def _sample_item(item, rng: random.Random, lean: float) -> dict:
    codes = [option.code for option in item.options]
    if item.type == "matrix":
        return {row.id: _tilted(codes, rng, lean) for row in item.rows}
    if item.type == "likert":
        return {item.id: _tilted(codes, rng, lean)}
    if item.type == "bipolar":
        # The left statement is the positive one: lean towards it means lower points.
        return {item.id: _tilted(list(range(item.points, 0, -1)), rng, lean)}
    if item.type == "single_choice":
        chosen = rng.choice(codes)
        return {item.id: chosen} | ({item.other_id: None} if item.other else {})
    if item.type == "multiple_choice":
        count = min(len(codes), rng.randint(1, item.max_choices or 2))
        chosen = sorted(rng.sample(codes, count), key=codes.index)
        return {item.id: chosen} | ({item.other_id: None} if item.other else {})
    if item.type == "number":
        low = int(item.min if item.min is not None else 0)
        high = int(item.max if item.max is not None else low + 60)
        return {item.id: rng.randint(low, min(high, low + 60))}
    if item.type == "short_text":
        return {item.id: "Demo answer"}
    return {item.id: rng.choice(DEMO_TEXT) if (item.required or rng.random() < 0.5) else None}


@dataclass(frozen=True)
class DemoLink:
    wave: str
    name: str
    team: str
    token: str


MENTORS = {"role": ["Mentor"]}  # the mentor evaluation goes to mentors only (seed 001)


def demo_cohort_csv() -> bytes:
    """The demo cohort as a CSV file, the way an administrator would upload it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["ID number", "Name", "Email", "Team", "Organisation", "Region", "Role", "Months in post"]
    )
    for number, (first, last) in enumerate(zip(FIRST_NAMES, SURNAMES, strict=True), start=1):
        team, organisation, region = TEAMS[number % len(TEAMS)]
        role = "Mentor" if number % 6 == 0 else "Peer supporter" if number % 4 == 0 else "Peer"
        email = f"{first.lower()}.{number}@example.org".encode("ascii", "ignore").decode()
        months = (number * 7) % 60 + 3
        writer.writerow(
            [f"D{number:03d}", f"{first} {last}", email, team, organisation, region, role, months]
        )
    return buffer.getvalue().encode("utf-8")


def served_address(host: str, port: int) -> str:
    """The address a browser on this computer opens for a server on ``host``:``port``.

    A server on every interface (0.0.0.0 or ::) is reached on loopback; an IPv6 address
    is written in brackets.
    """
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def build_demo(session: Session, *, now: datetime, base_url: str) -> list[DemoLink]:
    """Create (or find) the demo programme and its waves; return a few personal links.

    ``base_url`` is the address the demo serves: the links in the emails it writes and
    the links it returns point there. Only links that work now are returned: nobody
    withdrawn, nobody who has started or answered, and only waves open now.
    """
    programme = session.scalar(select(Programme).where(Programme.name == PROGRAMME_NAME))
    if programme is None:
        programme = Programme(
            name=PROGRAMME_NAME,
            run_by="the surveyapp demo evaluation team (fictional)",
            description="Fictional people and councils, for trying surveyapp out.",
            created_at=now,
        )
        session.add(programme)
        session.flush()
        roster.import_cohort(
            session, programme, cohort_file.parse_cohort_csv(demo_cohort_csv()), now=now
        )
    versions = catalogue.latest_versions(session)
    # (label, questionnaire, privacy, opened days ago, how many answer, how much they grew,
    #  who is invited)
    everyone: dict[str, list[str]] = {}
    plans = [
        ("Baseline", "peer_support_baseline", "identified", 120, 0.8, 0.0, everyone),
        ("Midterm", "peer_support_midterm", "identified", 10, 0.6, 0.9, everyone),
        ("Leadership culture survey", "leadership_culture", "anonymous", 10, 0.6, 0.0, everyone),
        ("Mentor evaluation", "mentor_evaluation", "identified", 10, 0.6, 0.0, MENTORS),
    ]
    existing = {wave.label: wave for wave in programme.waves}
    for label, key, privacy, days_ago, answering, growth, audience in plans:
        if label in existing or key not in versions:
            continue
        opened = (now - timedelta(days=days_ago)).replace(hour=8, minute=0, second=0, microsecond=0)
        wave = waves.create_wave(
            session,
            programme=programme,
            version=versions[key],
            label=label,
            opens_at=opened,
            closes_at=opened + timedelta(days=28),
            privacy=privacy,
            audience=audience,
            now=opened,
        )
        existing[label] = wave
        until = min(now, wave.closes_at - timedelta(hours=1))
        questionnaire = questionnaire_of(versions[key])
        simulate_past_days(
            session, wave, questionnaire, opened, until, answering, growth, base_url=base_url
        )
    session.flush()
    links = []
    for label, *_plan in plans:
        wave: Wave | None = existing.get(label)
        if wave is None or not wave.opens_at <= now < wave.closes_at:
            continue
        links.extend(live_links(session, wave, now=now))
    return links


def live_links(session: Session, wave: Wave, *, now: datetime, count: int = 3) -> list[DemoLink]:
    """A few links of people who have not started, so the demo user answers from the start;
    each checked as the link itself is (withdrawn people's links do not work)."""
    links = []
    candidates = session.scalars(
        select(Invitation.token)
        .join(Participant)
        .where(
            Invitation.wave_id == wave.id,
            Invitation.started_at.is_(None),
            Invitation.completed_on.is_(None),
            Participant.withdrawn_at.is_(None),
        )
        .order_by(Invitation.id)
    )
    for token in candidates:
        invitation = flow.find_invitation(session, token)
        if invitation is None or flow.link_state(invitation, now) != "open":
            continue
        person = invitation.participant
        links.append(DemoLink(wave.label, person.name, person.team, invitation.token))
        if len(links) == count:
            break
    return links


def simulate_past_days(
    session: Session,
    wave: Wave,
    questionnaire: Questionnaire,
    opened: datetime,
    now: datetime,
    answering: float = 0.6,
    growth: float = 0.0,
    *,
    base_url: str,
    lean_of: Callable[[Participant], float] | None = None,
) -> None:
    """Play the first days of a wave: messages sent on their days, people answering over time.

    Everything goes through the functions that handle real answers and messages; the
    outbox keeps the messages (no email leaves), and every person is fictional.

    :param lean_of: how each person tends to answer (``sample_answers``); by team when
        not given.
    """
    if lean_of is None:
        lean_of = lambda person: TEAM_LEAN[TEAM_INDEX[person.team]]  # noqa: E731
    rng = random.Random(f"{PROGRAMME_NAME}/{wave.label}")
    settings = sending.SendSettings(base_url=base_url)
    invitations = sorted(wave.invitations, key=lambda i: i.participant.id_number)
    # Most answer, some start and stop, a few never open the link; one team answers little.
    plan = []
    for invitation in invitations:
        quiet_team = invitation.participant.team == TEAMS[2][0]  # answers little
        roll = rng.random() + (0.35 if quiet_team else 0.0)
        fate = "complete" if roll < answering else "start" if roll < answering + 0.2 else "none"
        plan.append((invitation, fate))
    steps = sending.steps_of(session, wave)
    first_answers: dict[int, dict] = {}
    # How long each takes, drawn apart so the answers stay those drawn before timing:
    # most 6 to 20 minutes, about one in eight in a minute or two (the data-quality page).
    pace = random.Random(f"{PROGRAMME_NAME}/{wave.label}/time")
    for day in range((now - opened).days + 1):
        moment = opened + timedelta(days=day, hours=1)
        for step in steps:
            if sending.due_at(step).date() == (opened + timedelta(days=day)).date():
                sending.queue_step(session, step, now=moment, settings=settings)
                session.flush()
                _deliver_to_outbox(session, moment)
        for invitation, fate in plan:
            if fate == "none" or rng.random() > 0.3 or invitation.is_completed:
                continue
            when = moment + timedelta(hours=rng.randint(1, 8))
            if when > now:
                continue
            lean = lean_of(invitation.participant)
            # A person keeps the answers they first gave: drawn again, a started person's role
            # (and with it the pages they see) would change between reminders.
            answers = first_answers.setdefault(
                invitation.id, sample_answers(questionnaire, rng, lean)
            )
            flow.mark_opened(invitation, when)
            if fate == "start":
                first_page = questionnaire.pages[0]
                partial = {k: v for k, v in answers.items() if k in _ids_of(first_page)}
                flow.record_answers(session, invitation, questionnaire, partial, now=when)
                continue
            minutes = pace.uniform(1, 2) if pace.random() < 0.125 else pace.uniform(6, 20)
            flow.note_activity(invitation, when - timedelta(minutes=minutes))
            flow.record_answers(session, invitation, questionnaire, answers, now=when)
            flow.submit(session, invitation, questionnaire, now=when)
    session.flush()


TEAM_LEAN = (0.6, -0.5, 0.1, 0.3, -0.1)  # how each demo team tends to answer
TEAM_INDEX = {team: index for index, (team, _organisation, _region) in enumerate(TEAMS)}


def _ids_of(page) -> set[str]:
    return {answer_id for item in page.items for answer_id in item.answer_ids()}


def _deliver_to_outbox(session: Session, moment: datetime) -> None:
    """Mark queued messages as kept in the outbox, as delivery without SMTP does."""
    for message in session.scalars(select(Message).where(Message.state == "queued")):
        message.state, message.transport, message.sent_at = "sent", "outbox", moment
        message.attempts = 1
