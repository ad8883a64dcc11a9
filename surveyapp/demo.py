"""Demo data: a fictional programme, cohort and two open waves (Flask-free).

Built through the same functions that handle real data, so the demo shows
what a real programme looks like. Running it again changes nothing already there.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp import catalogue
from surveyapp.models import Invitation, Programme, Wave
from surveyapp.participants import roster, waves

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


@dataclass(frozen=True)
class DemoLink:
    wave: str
    name: str
    team: str
    token: str


def demo_cohort_csv() -> bytes:
    """The demo cohort as a CSV file, the way an administrator would upload it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["ID number", "Name", "Email", "Team", "Organisation", "Region", "Role", "Months in post"]
    )
    for number, (first, last) in enumerate(zip(FIRST_NAMES, SURNAMES, strict=True), start=1):
        team, organisation, region = TEAMS[number % len(TEAMS)]
        role = "Peer supporter" if number % 4 == 0 else "Peer"
        email = f"{first.lower()}.{number}@example.org".encode("ascii", "ignore").decode()
        months = (number * 7) % 60 + 3
        writer.writerow(
            [f"D{number:03d}", f"{first} {last}", email, team, organisation, region, role, months]
        )
    return buffer.getvalue().encode("utf-8")


def build_demo(session: Session, *, now: datetime) -> list[DemoLink]:
    """Create (or find) the demo programme and its waves; return a few personal links."""
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
            session, programme, roster.parse_cohort_csv(demo_cohort_csv()), now=now
        )
    versions = catalogue.latest_versions(session)
    plans = [
        ("Baseline", "peer_support_baseline", "identified"),
        ("Leadership culture survey", "leadership_culture", "anonymous"),
    ]
    existing = {wave.label: wave for wave in programme.waves}
    for label, key, privacy in plans:
        if label in existing or key not in versions:
            continue
        existing[label] = waves.create_wave(
            session,
            programme=programme,
            version=versions[key],
            label=label,
            opens_at=now - timedelta(days=2),
            closes_at=now + timedelta(days=19),
            privacy=privacy,
            now=now,
        )
    links = []
    for label, _key, _privacy in plans:
        wave: Wave | None = existing.get(label)
        if wave is None:
            continue
        invitations = session.scalars(
            select(Invitation).where(Invitation.wave_id == wave.id).order_by(Invitation.id).limit(3)
        )
        links.extend(
            DemoLink(label, i.participant.name, i.participant.team, i.token) for i in invitations
        )
    session.flush()
    return links
