"""Helpers for tests/test_hostile.py: a snapshot of everything stored, two programmes to
attack each other from, and the small moves a hostile client makes."""

import csv
import functools
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from surveyapp import PROJECT_ROOT
from surveyapp.db import Base
from surveyapp.models import Message, User
from surveyapp.questionnaires import catalogue, load_all
from surveyapp.reminders import sending
from surveyapp.waves.operations import create_wave
from tests.conftest import NOW, PASSWORD, sign_in
from tests.factories import make_participant, make_programme
from tests.participant import complete

#: Tables that may change on any request by design: an append-only audit log records the
#: refusal itself. Matched by name, so a log added later is covered without a change here.
LEGITIMATELY_CHANGING = re.compile(r"audit")


def _comparable(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, as plain values sorted the same way on every database."""
    engine = app.extensions["surveyapp.engine"]
    stored = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if LEGITIMATELY_CHANGING.search(table.name):
                continue
            rows = connection.execute(select(table)).all()
            stored[table.name] = sorted(
                (tuple(_comparable(value) for value in row) for row in rows), key=repr
            )
    return stored


def differences(before: dict, after: dict) -> list[str]:
    """Say which rows of which tables appeared or went, for a readable failure."""
    found = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, []), after.get(name, [])
        if old != new:
            gone = [row for row in old if row not in new]
            came = [row for row in new if row not in old]
            found.append(f"{name}: removed {gone!r}, added {came!r}")
    return found


class Unchanged:
    """``with Unchanged(app):`` fails if anything stored is different at the end."""

    def __init__(self, app):
        self.app = app

    def __enter__(self):
        self.before = snapshot(self.app)
        return self

    def __exit__(self, kind, error, trace):
        if kind is None:
            changed = differences(self.before, snapshot(self.app))
            assert not changed, "stored data changed:\n" + "\n".join(changed)
        return False


@dataclass
class World:
    """Two programmes, A and B, each with people, a wave, its plan, emails and messages.

    A hostile request aimed at A's URLs carries B's ids, and the other way round.
    """

    programme_a: int
    programme_b: int
    person_a: int
    person_b: int
    wave_a: int
    wave_b: int
    #: A person of wave A who has not started; the participant cases answer as them.
    token_a: str
    invitation_a: int
    #: A person of wave A who has sent their answers.
    token_done: str
    invitation_done: int
    invitation_b: int
    token_b: str
    step_a: int
    step_b: int
    template_a: int
    template_b: int
    message_a: int
    message_b: int
    questionnaire: object

    def ids(self) -> dict:
        return {key: value for key, value in vars(self).items() if key != "questionnaire"}


@functools.cache
def _shipped_questionnaires():
    # Read once per test run: parsing every shipped file for each of hundreds of cases is slow.
    return load_all(PROJECT_ROOT / "questionnaires")


@functools.cache
def _password_hash() -> str:
    from surveyapp.staff.operations import _hasher

    return _hasher.hash(PASSWORD)


def add_staff(session, email="admin@example.org", role="admin") -> None:
    """An account the ``auth`` fixture signs in with, without hashing its password again."""
    session.add(User(email=email, password_hash=_password_hash(), role=role, created_at=NOW))
    session.commit()


def _wave(session, programme, label):
    catalogue.store_versions(session, _shipped_questionnaires(), now=NOW)
    return create_wave(
        session,
        programme=programme,
        version=catalogue.latest_versions(session)["session_evaluation"],
        label=label,
        opens_at=NOW - timedelta(days=1),
        closes_at=NOW + timedelta(days=20),
        privacy="identified",
        now=NOW,
    )


def build_world(app, session) -> World:
    from surveyapp.web.context import version_questionnaire

    add_staff(session)
    programme_a = make_programme(session, name="Programme A")
    programme_b = make_programme(session, name="Programme B")
    people_a = [
        make_participant(
            session,
            programme_a,
            id_number=f"A000{number}",
            name=f"Person A{number}",
            email=f"a{number}@example.org",
            team="North" if number % 2 else "South",
        )
        for number in range(1, 7)
    ]
    people_b = [
        make_participant(
            session,
            programme_b,
            id_number=f"B000{number}",
            name=f"Person B{number}",
            email=f"b{number}@example.org",
        )
        for number in range(1, 4)
    ]
    wave_a = _wave(session, programme_a, "Baseline A")
    wave_b = _wave(session, programme_b, "Baseline B")
    session.commit()
    with app.app_context():
        questionnaire = version_questionnaire(wave_a.questionnaire_version)
    by_person = {invitation.participant_id: invitation for invitation in wave_a.invitations}
    done = by_person[people_a[1].id]
    complete(app.test_client(), done.token, questionnaire)
    session.expire_all()
    settings = sending.settings_from_config(app.config)
    steps = {}
    for wave in (wave_a, wave_b):
        steps[wave.id] = sending.steps_of(session, wave)[0]
        sending.queue_step(session, steps[wave.id], now=NOW, settings=settings)
    session.commit()

    def first_message(wave):
        return session.scalar(
            select(Message.id).where(Message.wave_id == wave.id).order_by(Message.id).limit(1)
        )

    open_a = by_person[people_a[0].id]
    invitation_b = wave_b.invitations[0]
    return World(
        programme_a=programme_a.id,
        programme_b=programme_b.id,
        person_a=people_a[0].id,
        person_b=people_b[0].id,
        wave_a=wave_a.id,
        wave_b=wave_b.id,
        token_a=open_a.token,
        invitation_a=open_a.id,
        token_done=done.token,
        invitation_done=done.id,
        invitation_b=invitation_b.id,
        token_b=invitation_b.token,
        step_a=steps[wave_a.id].id,
        step_b=steps[wave_b.id].id,
        template_a=steps[wave_a.id].template_id,
        template_b=steps[wave_b.id].template_id,
        message_a=first_message(wave_a),
        message_b=first_message(wave_b),
        questionnaire=questionnaire,
    )


def cohort_csv(*rows, heading=("id_number", "name", "email", "team")) -> bytes:
    """A cohort file as a spreadsheet saves it: UTF-8, commas, quoted where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(heading)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


_TOKEN = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    """The CSRF token a page gives this client's session."""
    page = client.get(url)
    found = _TOKEN.search(page.text)
    assert found, f"no CSRF token on {url} ({page.status_code})"
    return found.group(1)


def sign_in_with_token(client, session, email="admin@example.org", role="admin"):
    """Sign in through the form on an app with CSRF protection on."""
    from surveyapp.staff import operations as accounts

    if accounts.find_user(session, email) is None:
        accounts.create_user(session, email=email, password=PASSWORD, role=role, now=NOW)
        session.commit()
    signed_in = sign_in(client, session, email)  # the password, then a code if the role needs one
    assert signed_in.status_code == 303, signed_in.text


#: Script that would run if a page printed it as HTML, in an element or in an attribute.
SCRIPT = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def shows_script_as_text(page: str) -> bool:
    """True when :data:`SCRIPT` appears on the page, and only as text (HTML- or JSON-escaped)."""
    runs = "<script>alert(1)" in page or "<img src=x onerror" in page
    shown = "&lt;script&gt;alert(1)" in page or "\\u003cscript\\u003ealert(1)" in page
    return shown and not runs
