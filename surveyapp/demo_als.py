"""Demo data: an action learning programme like seed 001's, over its whole life (Flask-free).

23 set members in two sub-regional sets (West and East) and 11 mentors; seven set
meetings each counting the launch event, with registers kept, mentoring sessions
recorded, and a session evaluation made after each meeting by the same scheduled
step that sends reminders (``evaluations.operations.make_due_waves``), played day by
day as it would have run. Then the endpoint, and the after-project evaluations of
set members and of mentors, each with the default plan: two reminders over three
weeks and a personal final one giving three working days.

People who came to more meetings and had more mentoring gain more between baseline
and endpoint, so the outcomes by attendance page reads as the seed's report does:
outcomes were met "particularly by those who had an attendance score of five or more
and had received at least three mentoring sessions".
"""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp.demo import FIRST_NAMES, SURNAMES, DemoLink, live_links, simulate_past_days
from surveyapp.evaluations import operations as evaluations
from surveyapp.models import Participant, Programme, Wave
from surveyapp.people import cohort_file, roster
from surveyapp.questionnaires import catalogue
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.scoring import dose
from surveyapp.sessions import operations as sessions
from surveyapp.timezones import to_utc
from surveyapp.waves import operations as waves

ALS_PROGRAMME_NAME = "Demo: action learning sets, West and East"
MEMBER, MENTOR = "Set member", "Mentor"
#: (set, region, councils its members come from)
SETS = [
    (
        "West set",
        "West",
        ["Bristol City Council", "North Somerset Council", "Bath and NE Somerset"],
    ),
    ("East set", "East", ["Norfolk County Council", "Suffolk County Council", "Essex Council"]),
]
MEMBERS_IN_SET = {"West set": 12, "East set": 11}
MENTORS_IN_SET = {"West set": 6, "East set": 5}
#: Per set member, in order: (set meetings attended of 7, mentoring sessions had).
#: Those who came to more meetings also had more mentoring, as in the seed.
DOSES = [
    (7, 5), (7, 4), (6, 4), (7, 3), (5, 3), (6, 5), (5, 4), (2, 1), (3, 0), (4, 2), (3, 1),
    (6, 3),
    (7, 4), (6, 3), (5, 5), (7, 3), (6, 4), (3, 2), (4, 1), (2, 0), (4, 0), (4, 2), (6, 3),
]  # fmt: skip
ATTENDANCE_BANDS = "0-4: fewer than 5 of 7\n5 or more: 5 or more of 7"
MENTORING_BANDS = "0-2: fewer than 3 mentoring sessions\n3 or more: 3 or more mentoring sessions"
#: Days before today of the launch and of each set's six meetings after it.
LAUNCH_DAYS_AGO = 196
MEETING_DAYS_AGO = (168, 140, 112, 84, 56, 35)
UK = "Europe/London"


def als_cohort_csv() -> bytes:
    """The programme's cohort: set members (A…) and their mentors (M…), in their sets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["ID number", "Name", "Email", "Team", "Organisation", "Region", "Role"])
    number = 0
    for team, region, councils in SETS:
        for kind, count in ((MEMBER, MEMBERS_IN_SET[team]), (MENTOR, MENTORS_IN_SET[team])):
            for place in range(count):
                number += 1
                first = FIRST_NAMES[(number * 11 + 4) % len(FIRST_NAMES)]
                last = SURNAMES[(number * 7 + number // len(SURNAMES) + 3) % len(SURNAMES)]
                prefix = "A" if kind == MEMBER else "M"
                email = f"{first.lower()}.als{number}@example.org".encode("ascii", "ignore")
                writer.writerow(
                    [
                        f"{prefix}{number:03d}",
                        f"{first} {last}",
                        email.decode(),
                        team,
                        councils[place % len(councils)],
                        region,
                        kind,
                    ]
                )
    return buffer.getvalue().encode("utf-8")


def _at(day: datetime, hour: int) -> datetime:
    """UTC for ``hour`` o'clock, UK time, on ``day``."""
    return to_utc(day.date(), time(hour), UK)


def build_als_demo(session: Session, *, now: datetime, base_url: str) -> list[DemoLink]:
    """Create the programme once (a second run changes nothing); return a few live links."""
    programme = session.scalar(select(Programme).where(Programme.name == ALS_PROGRAMME_NAME))
    if programme is None:
        versions = catalogue.latest_versions(session)
        needed = {"peer_support_baseline", "peer_support_endpoint", "session_evaluation",
                  "als_member_evaluation", "mentor_evaluation"}  # fmt: skip
        if not needed <= set(versions):
            return []
        programme = _build(session, now=now, base_url=base_url, versions=versions)
    links = []
    for wave in programme.waves:
        if wave.session_id is None and wave.opens_at <= now < wave.closes_at:
            links.extend(live_links(session, wave, now=now, count=1))
    return links


def _build(session: Session, *, now: datetime, base_url: str, versions: dict) -> Programme:
    programme = Programme(
        name=ALS_PROGRAMME_NAME,
        run_by="the surveyapp demo evaluation team (fictional)",
        description=(
            "Fictional action learning sets over seven meetings, with mentoring, in the "
            "manner of the APIR project (seed 001)."
        ),
        created_at=now - timedelta(days=LAUNCH_DAYS_AGO + 20),
    )
    session.add(programme)
    session.flush()
    roster.import_cohort(
        session, programme, cohort_file.parse_cohort_csv(als_cohort_csv()), now=now
    )
    people = session.scalars(
        select(Participant)
        .where(Participant.programme_id == programme.id)
        .order_by(Participant.id_number)
    ).all()
    members = [person for person in people if person.role == MEMBER]
    mentors = [person for person in people if person.role == MENTOR]
    dose_of = {person.id: DOSES[place] for place, person in enumerate(members)}
    dose.save_bands(
        session,
        programme,
        attendance=dose.parse_bands(ATTENDANCE_BANDS, field="attendance", what="Attendance"),
        mentoring=dose.parse_bands(MENTORING_BANDS, field="mentoring", what="Mentoring"),
    )
    start = now - timedelta(days=LAUNCH_DAYS_AGO)
    evaluations.save_rule(
        session,
        programme,
        questionnaire_key="session_evaluation",
        session_kind="als_meeting",
        audience="attended",
        opens_after_hours=2,
        open_days=14,
        privacy="anonymous",
        target_rate=70,
        with_reminders=True,
        now=start - timedelta(days=7),
    )

    def lean_at_endpoint(person: Participant) -> float:
        attended, mentoring = dose_of.get(person.id, (4, 2))
        return -0.7 + 0.13 * attended + 0.09 * min(mentoring, 4) + _own(person, 0.5)

    baseline_opens = start - timedelta(days=9)
    _wave(
        session,
        programme,
        versions,
        "Baseline",
        "peer_support_baseline",
        baseline_opens,
        {"role": [MEMBER]},
        base_url,
        now,
        lambda person: -0.15 + _own(person, 0.3),
    )
    rng = random.Random(ALS_PROGRAMME_NAME)
    meetings = _meetings(session, programme, start, now)
    for number, (day_meetings, when) in enumerate(meetings):
        for meeting in day_meetings:
            for person in sessions.expected_participants(session, meeting):
                came = person.role == MENTOR or _came(dose_of[person.id][0], number)
                sessions.mark(session, meeting, person, came, now=meeting.ends_at, by=None)
        made = evaluations.make_due_waves(session, now=when)
        for wave in made.made:
            questionnaire = questionnaire_of(wave.questionnaire_version)
            simulate_past_days(
                session,
                wave,
                questionnaire,
                wave.opens_at,
                min(now, wave.closes_at - timedelta(hours=1)),
                0.75,
                base_url=base_url,
                lean_of=lambda person: 0.3,
            )
    _mentoring(session, programme, members, mentors, dose_of, start, now, rng)
    endpoint_opens = now - timedelta(days=24)
    _wave(
        session,
        programme,
        versions,
        "Endpoint",
        "peer_support_endpoint",
        endpoint_opens,
        {"role": [MEMBER]},
        base_url,
        now,
        lean_at_endpoint,
    )
    _wave(
        session,
        programme,
        versions,
        "After the project: set members",
        "als_member_evaluation",
        endpoint_opens,
        {"role": [MEMBER]},
        base_url,
        now,
        lean_at_endpoint,
        "anonymous",
    )
    _wave(
        session,
        programme,
        versions,
        "After the project: mentors",
        "mentor_evaluation",
        endpoint_opens,
        {"role": [MENTOR]},
        base_url,
        now,
        lambda person: 0.2,
        "anonymous",
    )
    session.flush()
    return programme


def _own(person: Participant, spread: float) -> float:
    """How far one person's answers stray from their group's, the same in every wave."""
    return spread * (random.Random(person.id_number).random() - 0.5)


def _came(attended: int, number: int) -> bool:
    """Whether a member who came to ``attended`` of the 7 meetings came to meeting ``number``
    (0 the launch): everyone came to the launch, and those who missed some missed the later."""
    return number < attended


def _meetings(session: Session, programme: Programme, start: datetime, now: datetime) -> list:
    """The launch for everyone, then each set's six meetings; per day, its meetings and the
    moment the scheduled step first runs after they end (when their evaluation is due)."""
    days = []
    launch = sessions.save_session(
        session,
        programme,
        sessions.SessionDetails(
            kind="als_meeting",
            group="",
            title="Launch event",
            starts_at=_at(start, 10),
            ends_at=_at(start, 15),
            expected={},
        ),
        now=start - timedelta(days=14),
    )
    days.append(([launch], launch.ends_at + timedelta(hours=2, minutes=5)))
    for days_ago in MEETING_DAYS_AGO:
        held = []
        for offset, (team, _region, _councils) in enumerate(SETS):
            day = now - timedelta(days=days_ago - offset)
            held.append(
                sessions.save_session(
                    session,
                    programme,
                    sessions.SessionDetails(
                        kind="als_meeting",
                        group=team,
                        starts_at=_at(day, 10),
                        ends_at=_at(day, 13),
                        expected={"group": True, "role": [MEMBER]},
                    ),
                    now=start - timedelta(days=14),
                )
            )
        days.append((held, max(m.ends_at for m in held) + timedelta(hours=2, minutes=5)))
    return days


def _mentoring(session, programme, members, mentors, dose_of, start, now, rng) -> None:
    """Each member's mentoring sessions with a mentor of their set, spread over the months."""
    for place, member in enumerate(members):
        own = [mentor for mentor in mentors if mentor.team == member.team]
        mentor = own[place % len(own)]
        for number in range(dose_of[member.id][1]):
            day = start + timedelta(days=20 + number * 30 + rng.randint(0, 9))
            if day > now - timedelta(days=2):
                break
            meeting = sessions.save_session(
                session,
                programme,
                sessions.SessionDetails(
                    kind="mentoring",
                    group=f"{mentor.name}'s mentees",
                    starts_at=_at(day, 14),
                    ends_at=_at(day, 15),
                    expected={"participant": [mentor.id, member.id]},
                ),
                now=start,
            )
            for person in (mentor, member):
                sessions.mark(session, meeting, person, True, now=meeting.ends_at, by=None)


def _wave(
    session, programme, versions, label, key, opens, audience, base_url, now, lean_of,
    privacy="identified",
):  # fmt: skip
    opens = _at(opens, 8)
    wave: Wave = waves.create_wave(
        session,
        programme=programme,
        version=versions[key],
        label=label,
        opens_at=opens,
        closes_at=opens + timedelta(days=31),
        privacy=privacy,
        audience=audience,
        now=opens,
    )
    simulate_past_days(
        session,
        wave,
        questionnaire_of(versions[key]),
        opens,
        min(now, wave.closes_at - timedelta(hours=1)),
        0.78,
        base_url=base_url,
        lean_of=lean_of,
    )
    return wave
