"""The production load test: participants, an administrator sending reminders and an evaluator
exporting, all at once, through gunicorn on PostgreSQL; then proof that nothing was lost or doubled.

Run from the repository folder (needs gunicorn and a PostgreSQL server on 127.0.0.1:5432 with
user ``postgres`` and trust authentication)::

    python -m tests.benchmarks.load [--participants 500] [--duration 60] [--clients 40]
        [--workers 3] [--threads 4] [--cron-every 10]

Set-up (not timed as load): a new database, ``alembic upgrade head``, the shipped
questionnaires stored, a programme whose cohort of N people is loaded from a CSV file, one
open identified wave of ``peer_support_baseline`` with the default reminder plan, an
administrator and an evaluator. A real SMTP server (aiosmtpd) listens on loopback and is the
app's mail server (``SURVEYAPP_MAIL_SECURITY=none``). The app is served exactly as
docs/production.md says, ``gunicorn --workers 3 --threads 4 wsgi:app``, and the invitations go
out through ``flask --app surveyapp reminders send`` before the load starts.

Then, for ``--duration`` seconds, at the same time:

- participants: ``--clients`` people at once work through the N personal links: open the link,
  GET and POST every page the server asks for (with its CSRF token), check the answers,
  submit. Every tenth person presses Continue twice on a page, and every tenth sends twice;
- an administrator watches the wave's dashboard and, at 10% and 40% of the run, presses
  "Send now" on the first and second reminder, which fall due at those moments;
- cron: ``flask --app surveyapp reminders send`` every ``--cron-every`` seconds, racing the
  administrator for the same steps;
- an evaluator reads the results page and downloads exports (CSV, Excel, SPSS, long CSV)
  one after another.

After the load, one more cron run (the next tick), then the checks, each PASS or FAIL:
every acknowledged answer is stored exactly once (a submission acknowledged with 303 has one
response with exactly the answers sent; a page acknowledged with 303 but not yet submitted is
in the draft), and every due reminder went out exactly once (the SMTP server received one
message per sent outbox row, nobody got a step twice, nobody still due was missed). The exit
status is 1 when any request failed or any check failed. Every process started here is
stopped, and the database is dropped.
"""

from __future__ import annotations

import argparse
import csv
import email.parser
import email.policy
import io
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveyapp import PROJECT_ROOT
from surveyapp.cli import alembic_config
from surveyapp.clock import utcnow
from surveyapp.db import make_engine
from surveyapp.mail import message_id_for
from surveyapp.models import (
    Answer,
    DraftAnswer,
    Invitation,
    Message,
    Participant,
    Programme,
    ReminderStep,
    Response,
    Wave,
)
from surveyapp.people import roster
from surveyapp.questionnaires import Questionnaire, catalogue, load_all
from surveyapp.questionnaires.answers import read_page
from surveyapp.reminders import sending
from surveyapp.reminders.plan import save_step
from surveyapp.staff import access
from surveyapp.staff import operations as accounts
from surveyapp.waves.operations import create_wave
from tests.benchmarks.common import (
    CSRF_TOKEN,
    FIRST_PAGE,
    Browser,
    Failure,
    Server,
    free_port,
    percentile,
    postgres_database,
)
from tests.participant import page_data

QUESTIONNAIRE = "peer_support_baseline"
PASSWORD = "load test password"
ADMIN_EMAIL = "admin@load.test"
EVALUATOR_EMAIL = "evaluator@load.test"
BASE_URL = "https://surveys.load.test"
DOMAIN = "surveys.load.test"  # what settings_from_config makes of BASE_URL, for Message-IDs
SLOW_TIMEOUT = 120.0  # Send now delivers up to 500 messages inside the request
#: A person who finished up to this long after a step was first queued may have been left out
#: by that queueing: it read the clock a moment before it read who had finished.
QUEUE_TOLERANCE = timedelta(seconds=5)
EXPORTS = [
    ("csv", "wide"),
    ("xlsx", "wide"),
    ("sav", "wide"),
    ("csv", "long"),
]
TEXT_TYPES = ("short_text", "long_text")


# -- the mail server ----------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler keeping the Message-ID, recipients and subject of what it accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[str, tuple[str, ...], str]] = []
        self.lock = threading.Lock()
        self.parser = email.parser.BytesHeaderParser(policy=email.policy.default)

    async def handle_DATA(self, server, session, envelope):
        headers = self.parser.parsebytes(envelope.content)
        with self.lock:
            self.received.append(
                (str(headers["Message-ID"]), tuple(envelope.rcpt_tos), str(headers["Subject"]))
            )
        return "250 Message accepted for delivery"


# -- set-up -------------------------------------------------------------------------------


@dataclass
class Setup:
    url: str
    wave_id: int
    questionnaire: Questionnaire
    people: list[tuple[str, str]]  # (id number, token) per invitation
    steps: dict[str, int]  # label -> step id
    seconds: float


def cohort_csv(count: int) -> bytes:
    """A cohort file as a programme would save it from a spreadsheet: ten teams, four councils."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["ID number", "Name", "Email", "Team", "Organisation", "Region", "Role"])
    for n in range(1, count + 1):
        writer.writerow(
            [
                f"L{n:05d}",
                f"Load Person {n}",
                f"person{n}@load.test",
                f"Team {n % 10 + 1}",
                f"Council {n % 4 + 1}",
                ["North West", "London", "South East"][n % 3],
                "Peer" if n % 4 else "Peer supporter",
            ]
        )
    return out.getvalue().encode()


def prepare(url: str, participants: int) -> Setup:
    """Migrate, store the questionnaires, load the cohort, open the wave, make two accounts."""
    from alembic import command

    started = time.perf_counter()
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    now = utcnow()
    try:
        with Session(engine) as session:
            loaded = load_all(PROJECT_ROOT / "questionnaires")
            catalogue.store_versions(session, loaded, now=now)
            version = catalogue.latest_versions(session)[QUESTIONNAIRE]
            programme = Programme(
                name="Load test programme", run_by="The load test team", created_at=now
            )
            session.add(programme)
            session.flush()
            parsed = roster.parse_cohort_csv(cohort_csv(participants))
            if not parsed.is_importable or len(parsed.rows) != participants:
                raise RuntimeError(f"the cohort file did not read cleanly: {parsed}")
            roster.import_cohort(session, programme, parsed, now=now)
            wave = create_wave(
                session,
                programme=programme,
                version=version,
                label="Load test baseline",
                opens_at=now - timedelta(days=3),
                closes_at=now + timedelta(days=25),
                privacy="identified",
                now=now,
            )
            accounts.create_user(
                session, email=ADMIN_EMAIL, password=PASSWORD, role="admin", now=now
            )
            evaluator = accounts.create_user(
                session, email=EVALUATOR_EMAIL, password=PASSWORD, role="evaluator", now=now
            )
            access.add_member(session, evaluator, programme)  # evaluators see their programmes
            session.commit()
            people = [
                (invitation.participant.id_number, invitation.token)
                for invitation in sorted(wave.invitations, key=lambda i: i.participant.id_number)
            ]
            steps = {step.label: step.id for step in sending.steps_of(session, wave)}
            wave_id = wave.id
            questionnaire = catalogue.questionnaire_of(version)
    finally:
        engine.dispose()
    return Setup(url, wave_id, questionnaire, people, steps, time.perf_counter() - started)


def schedule_reminders(url: str, setup: Setup, times: dict[str, object]) -> None:
    """Make the first and second reminders fall due at the given moments of the load."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            wave = session.get(Wave, setup.wave_id)
            for label, when in times.items():
                step = session.get(ReminderStep, setup.steps[label])
                save_step(
                    session,
                    wave,
                    step,
                    label=step.label,
                    send_on=when,
                    days_after_opening=None,
                    audience=step.audience,
                    template=step.template,
                    deadline_working_days=step.deadline_working_days,
                )
            session.commit()
    finally:
        engine.dispose()


# -- what the actors record -----------------------------------------------------------------


@dataclass
class Log:
    """Requests of one actor: (end time, kind, seconds, status or None) and the first errors."""

    actor: str
    requests: list[tuple[float, str, float, int | None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, browser: Browser, kind: str, method: str, path: str, expected: int, body=None):
        began = time.perf_counter()
        try:
            status, location, data = browser.request(method, path, body)
        except (OSError, ValueError, IndexError) as exc:  # refused, cut off, garbled
            self.add(time.perf_counter(), kind, time.perf_counter() - began, None)
            raise Failure(f"{method} {path}: {exc!r}") from exc
        self.add(time.perf_counter(), kind, time.perf_counter() - began, status)
        if status != expected:
            raise Failure(f"{method} {path}: {status}, expected {expected}: {data[:160]!r}")
        return location, data

    def add(self, ended: float, kind: str, seconds: float, status: int | None) -> None:
        with self.lock:
            self.requests.append((ended, kind, seconds, status))

    def fail(self, message: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 5:
                self.errors.append(message)


@dataclass
class Person:
    """What one participant was told was stored."""

    id_number: str
    token: str
    acknowledged: dict = field(default_factory=dict)  # answers of every page answered with 303
    submitted: bool = False  # the send was answered with 303 to /r/complete
    submit_sent: bool = False  # a send went out (it may have landed without an answer)
    started: bool = False


def csrf_of(data: bytes, where: str) -> bytes:
    found = CSRF_TOKEN.search(data)
    if found is None:
        raise Failure(f"{where}: no csrf_token on the page")
    return quote(found.group(1).decode()).encode()


def page_answers(page, person: Person) -> dict[str, list[str]]:
    """The page's answers as a person types them; free text names the person."""
    data = page_data(page)
    for item in page.items:
        if item.type in TEXT_TYPES:
            data[item.id] = [f"Answered by {person.id_number}"]
    return data


def answer_as(browser: Browser, person: Person, number: int, q: Questionnaire, log: Log, stop):
    """One participant from link to confirmation; stops between requests when the time is up."""
    browser.close()
    browser.cookies.clear()
    person.started = True
    location, _ = log.timed(browser, "link", "GET", f"/r/{person.token}", 303)
    if location != "/r/":
        raise Failure(f"the link redirected to {location!r}")
    _, start = log.timed(browser, "start", "GET", "/r/", 200)
    found = FIRST_PAGE.search(start)
    if found is None:
        raise Failure("the start page has no link to a first page")
    location = f"/r/page/{found.group(1).decode()}"
    doubled = False
    while location.startswith("/r/page/"):
        if stop.is_set():
            return
        page = q.page(location.removeprefix("/r/page/"))
        _, shown = log.timed(browser, "page GET", "GET", location, 200)
        data = page_answers(page, person)
        values = read_page(page, data, person.acknowledged).values
        body = urlencode(data, doseq=True).encode() + b"&csrf_token=" + csrf_of(shown, location)
        following, _ = log.timed(browser, "page POST", "POST", location, 303, body)
        person.acknowledged.update(values)
        if number % 10 == 3 and not doubled:
            # A double click on Continue: the same answers again, stored once.
            log.timed(browser, "page POST", "POST", location, 303, body)
            doubled = True
        location = following
    if location != "/r/check-answers":
        raise Failure(f"the last page redirected to {location!r}")
    if stop.is_set():
        return
    _, check = log.timed(browser, "check answers", "GET", location, 200)
    body = b"csrf_token=" + csrf_of(check, location)
    person.submit_sent = True
    for _ in range(2 if number % 10 == 7 else 1):  # every tenth person sends twice
        sent, _ = log.timed(browser, "submit", "POST", "/r/submit", 303, body)
        if sent != "/r/complete":
            raise Failure(f"sending redirected to {sent!r}")
    person.submitted = True
    log.timed(browser, "confirmation", "GET", "/r/complete", 200)


def participants(port, people: list[Person], q: Questionnaire, log: Log, stop, lock, state):
    browser = Browser(port)
    try:
        while not stop.is_set():
            with lock:
                if state["next"] >= len(people):
                    return
                number = state["next"]
                state["next"] += 1
            try:
                answer_as(browser, people[number], number, q, log, stop)
            except Failure as failure:
                log.fail(f"{people[number].id_number}: {failure}")
                time.sleep(0.05)
            except Exception as exc:  # noqa: BLE001 - a bug here must show as an error, not a hang
                log.fail(f"{people[number].id_number}: the client broke: {exc!r}")
            with lock:
                state["done"] += 1
                if state["done"] == len(people) and not stop.is_set():
                    state["finished_at"] = time.perf_counter()  # everyone, before the time was up
    finally:
        browser.close()


def sign_in(browser: Browser, email_address: str, log: Log) -> None:
    _, page = log.timed(browser, "sign in", "GET", "/auth/login", 200)
    body = urlencode({"email": email_address, "password": PASSWORD}).encode()
    body += b"&csrf_token=" + csrf_of(page, "/auth/login")
    log.timed(browser, "sign in", "POST", "/auth/login", 303, body)


def administrator(port, wave_id: int, plan: list[tuple[float, int, str]], log: Log, stop, notes):
    """Watch the dashboard; press Send now on each step at its moment."""
    browser = Browser(port, timeout=SLOW_TIMEOUT)
    pending = sorted(plan)
    try:
        sign_in(browser, ADMIN_EMAIL, log)
    except Failure as failure:
        log.fail(str(failure))
        return
    try:
        while not stop.is_set():
            try:
                if pending and time.perf_counter() >= pending[0][0]:
                    _, step_id, label = pending.pop(0)
                    notes.append(f"Send now “{label}”: " + send_now(browser, wave_id, step_id, log))
                    continue
                log.timed(browser, "dashboard", "GET", f"/admin/waves/{wave_id}", 200)
            except Failure as failure:
                log.fail(str(failure))
            # A person reading the page: the next click opens a new connection, as gunicorn
            # closes one left idle for its keep-alive time (2 s).
            browser.close()
            stop.wait(2.0)
    finally:
        browser.close()


def send_now(browser: Browser, wave_id: int, step_id: int, log: Log) -> str:
    """Open the reminder plan, preview a step, press Send now; return what the app said."""
    base = f"/admin/waves/{wave_id}/reminders"
    log.timed(browser, "reminder plan", "GET", base, 200)
    send = f"{base}/steps/{step_id}/send"
    _, preview = log.timed(browser, "send preview", "GET", send, 200)
    body = b"csrf_token=" + csrf_of(preview, send)
    location, _ = log.timed(browser, "send now", "POST", send, 303, body)
    _, after = log.timed(browser, "reminder plan", "GET", location, 200)
    said = after.decode(errors="replace")
    start = said.find("”:", said.find("govuk-notification-banner"))
    return said[start + 2 : said.find("<", start)].strip() if start >= 0 else "(no message)"


def export_file(browser: Browser, log: Log, kind: str, path: str) -> bytes:
    """Download an export as the page gives it: at once, or, for a wave of many answers,
    after its progress page (made in the background) says the file is ready."""
    began = time.perf_counter()
    try:
        status, location, data = browser.request("GET", path)
        if status == 303 and "/export/progress?" in location:
            deadline = time.monotonic() + SLOW_TIMEOUT
            while time.monotonic() < deadline:
                status, _, page = browser.request("GET", location)
                if status != 200 or b"Your file is ready" in page or b"could not be made" in page:
                    break
                time.sleep(0.5)
            file_path = location.replace("/export/progress?", "/export/file?")
            status, _, data = browser.request("GET", file_path)
    except (OSError, ValueError, IndexError) as exc:  # refused, cut off, garbled
        log.add(time.perf_counter(), kind, time.perf_counter() - began, None)
        raise Failure(f"GET {path}: {exc!r}") from exc
    log.add(time.perf_counter(), kind, time.perf_counter() - began, status)
    if status != 200:
        raise Failure(f"GET {path}: {status}, expected 200: {data[:160]!r}")
    return data


def evaluator(port, wave_id: int, log: Log, stop, pause: float) -> None:
    """Read the results, then download every export in turn, until the time is up."""
    browser = Browser(port, timeout=SLOW_TIMEOUT)
    try:
        sign_in(browser, EVALUATOR_EMAIL, log)
        turn = 0
        while not stop.is_set():
            try:
                if turn % (len(EXPORTS) + 1) == 0:
                    log.timed(browser, "results", "GET", f"/admin/waves/{wave_id}/results", 200)
                else:
                    file_format, layout = EXPORTS[turn % (len(EXPORTS) + 1) - 1]
                    path = f"/admin/waves/{wave_id}/export?format={file_format}&layout={layout}"
                    data = export_file(browser, log, f"export {file_format} {layout}", path)
                    if not data or browser.content_type.startswith("text/html"):
                        raise Failure(f"GET {path}: a page instead of a file")
            except Failure as failure:
                log.fail(str(failure))
                browser.close()
                stop.wait(0.5)
            turn += 1
            stop.wait(pause)
    except Failure as failure:
        log.fail(str(failure))
    finally:
        browser.close()


def cron_once(env: dict[str, str], log: Log, kind: str = "reminders send") -> str:
    """``flask --app surveyapp reminders send``, as a cron line runs it."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "surveyapp", "reminders", "send"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SLOW_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    status = 200 if done.returncode == 0 else 500  # as a monitor would read it
    log.add(time.perf_counter(), kind, time.perf_counter() - began, status)
    said = (done.stdout + done.stderr).strip()
    if done.returncode:
        log.fail(f"reminders send exited with {done.returncode}: {said[-300:]}")
    return said


def cron(env: dict[str, str], every: float, log: Log, stop, notes) -> None:
    while not stop.is_set():
        said = cron_once(env, log)
        notes.append(f"cron at {time.strftime('%H:%M:%S')}: {said.splitlines()[0] if said else ''}")
        stop.wait(every)


# -- the checks -----------------------------------------------------------------------------


def normal(value):
    """A value as it reads back from a JSON column."""
    return json.loads(json.dumps(value))


def check_answers(session: Session, setup: Setup, people: list[Person]) -> list[tuple[bool, str]]:
    q = setup.questionnaire
    wave_id = setup.wave_id
    by_number = {
        p.id_number: p
        for p in session.scalars(
            select(Participant).join(Invitation).where(Invitation.wave_id == wave_id)
        )
    }
    invitations = {
        i.participant.id_number: i
        for i in session.scalars(select(Invitation).where(Invitation.wave_id == wave_id))
    }
    responses = defaultdict(list)
    for response in session.scalars(select(Response).where(Response.wave_id == wave_id)):
        responses[response.participant_id].append(response)
    stored = defaultdict(dict)
    for answer in session.scalars(select(Answer).join(Response).where(Response.wave_id == wave_id)):
        stored[answer.response_id][answer.answer_id] = answer.value
    drafts = defaultdict(dict)
    draft_rows = Counter()
    for draft in session.scalars(
        select(DraftAnswer).join(Invitation).where(Invitation.wave_id == wave_id)
    ):
        drafts[draft.invitation_id][draft.answer_id] = draft.value
        draft_rows[(draft.invitation_id, draft.answer_id)] += 1

    submitted = [p for p in people if p.submitted]
    missing, doubled, wrong, stray, lost_drafts = [], [], [], [], []
    for person in people:
        participant = by_number[person.id_number]
        theirs = responses.get(participant.id, [])
        invitation = invitations[person.id_number]
        if person.submitted:
            if not theirs:
                missing.append(person.id_number)
                continue
            if len(theirs) > 1:
                doubled.append(person.id_number)
            expected = normal(q.relevant_answers(person.acknowledged))
            if stored[theirs[0].id] != expected or invitation.completed_at is None:
                wrong.append(person.id_number)
        elif theirs and not person.submit_sent:
            stray.append(person.id_number)
        elif not theirs:
            draft = drafts.get(invitation.id, {})
            if any(draft.get(key, object()) != normal(v) for key, v in person.acknowledged.items()):
                lost_drafts.append(person.id_number)
    completed = session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(Invitation.wave_id == wave_id, Invitation.completed_on.is_not(None))
    )
    total_responses = sum(len(r) for r in responses.values())
    in_progress = [p for p in people if p.acknowledged and not p.submitted]
    pages_acknowledged = sum(len(p.acknowledged) for p in people)
    return [
        (
            not missing and not wrong,
            f"{len(submitted)} acknowledged submissions each have their response with exactly "
            f"the answers sent ({len(missing)} missing{': ' + ', '.join(missing[:5]) if missing else ''}, "
            f"{len(wrong)} with other answers{': ' + ', '.join(wrong[:5]) if wrong else ''})",
        ),
        (
            not doubled and total_responses == completed,
            f"no one has two responses ({len(doubled)} do); responses {total_responses} = "
            f"completed invitations {completed}",
        ),
        (not stray, f"no response for anyone who never sent ({len(stray)} found)"),
        (
            not lost_drafts and max(draft_rows.values(), default=1) == 1,
            f"{len(in_progress)} people part-way through have every acknowledged page in their "
            f"draft, once ({len(lost_drafts)} lost something"
            f"{': ' + ', '.join(lost_drafts[:5]) if lost_drafts else ''})",
        ),
        (
            pages_acknowledged > 0,
            f"{pages_acknowledged} acknowledged answers checked in all",
        ),
    ]


def check_reminders(
    session: Session, setup: Setup, mailbox: Mailbox, ended_at
) -> list[tuple[bool, str]]:
    wave_id = setup.wave_id
    rows = list(session.scalars(select(Message).where(Message.wave_id == wave_id)))
    by_message_id = {message_id_for(row.id, DOMAIN): row for row in rows}
    states = Counter(row.state for row in rows)
    unfinished = states["queued"] + states["sending"] + states["failed"]

    with mailbox.lock:
        received = list(mailbox.received)
    ids = Counter(message_id for message_id, _, _ in received)
    repeated = [message_id for message_id, count in ids.items() if count > 1]
    unknown = [mid for mid in ids if mid not in by_message_id]
    not_sent = [mid for mid in ids if mid in by_message_id and by_message_id[mid].state != "sent"]
    sent_rows = [row for row in rows if row.state == "sent"]
    never_arrived = [row.id for row in sent_rows if message_id_for(row.id, DOMAIN) not in ids]
    wrong_to = [
        mid
        for mid, tos, _ in received
        if mid in by_message_id and tos != (by_message_id[mid].to_address,)
    ]
    per_person_step = Counter(
        (by_message_id[mid].step_id, by_message_id[mid].invitation_id)
        for mid, _, _ in received
        if mid in by_message_id
    )
    twice = [key for key, count in per_person_step.items() if count > 1]

    steps = list(session.scalars(select(ReminderStep).where(ReminderStep.wave_id == wave_id)))
    invitations = list(session.scalars(select(Invitation).where(Invitation.wave_id == wave_id)))
    messages = {(row.step_id, row.invitation_id): row for row in rows}
    first_queued = defaultdict(lambda: None)
    for row in rows:
        if first_queued[row.step_id] is None or row.queued_at < first_queued[row.step_id]:
            first_queued[row.step_id] = row.queued_at
    due = [step for step in steps if sending.due_at(step) <= ended_at]
    not_due = [step for step in steps if sending.due_at(step) > ended_at]
    missed, early_for_not_due = [], [row for row in rows if row.step_id in {s.id for s in not_due}]
    for step in due:
        for invitation in invitations:
            row = messages.get((step.id, invitation.id))
            if invitation.completed_at is None:
                if row is None or row.state != "sent":
                    missed.append((step.label, invitation.id))
            elif row is None:
                first = first_queued[step.id]
                if first is None or invitation.completed_at > first + QUEUE_TOLERANCE:
                    missed.append((step.label, invitation.id))
    by_step = ", ".join(
        f"{step.label} {sum(1 for r in rows if r.step_id == step.id and r.state == 'sent')} sent/"
        f"{sum(1 for r in rows if r.step_id == step.id and r.state == 'cancelled')} cancelled"
        for step in due
    )
    return [
        (unfinished == 0, f"outbox settled: {dict(states)} (nothing queued, sending or failed)"),
        (
            not repeated and not unknown and not not_sent and not never_arrived and not wrong_to,
            f"the SMTP server received {len(received)} messages = {len(sent_rows)} sent outbox "
            f"rows ({len(repeated)} Message-IDs twice, {len(unknown)} unknown, {len(not_sent)} "
            f"for rows not marked sent, {len(never_arrived)} sent rows never received, "
            f"{len(wrong_to)} to the wrong address)",
        ),
        (not twice, f"nobody got the same step twice ({len(twice)} did)"),
        (
            not missed and len(due) >= 3,
            f"{len(due)} due steps ({by_step}): nobody due was missed ({len(missed)} were"
            f"{': ' + str(missed[:5]) if missed else ''})",
        ),
        (
            not early_for_not_due,
            f"{len(not_due)} step(s) not yet due sent nothing ({len(early_for_not_due)} messages)",
        ),
    ]


def check_final_export(port: int, wave_id: int, people: list[Person]) -> tuple[bool, str]:
    """The evaluator's CSV after the load lists exactly the people whose sending was answered."""
    browser = Browser(port, timeout=SLOW_TIMEOUT)
    log = Log("final export")
    try:
        sign_in(browser, EVALUATOR_EMAIL, log)
        path = f"/admin/waves/{wave_id}/export?format=csv&layout=wide"
        data = export_file(browser, log, "export", path)
    except Failure as failure:
        return False, f"the final export failed: {failure}"
    finally:
        browser.close()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    exported = sorted(row.get("id_number", "") for row in rows)
    expected = sorted(p.id_number for p in people if p.submitted)
    return (
        exported == expected,
        f"the final CSV export has {len(exported)} rows, one per acknowledged submission "
        f"({len(set(expected) - set(exported))} missing, {len(set(exported) - set(expected))} "
        "extra)",
    )


# -- figures --------------------------------------------------------------------------------


def figures(logs: list[Log], began: float, ended: float, finished_at: float | None) -> list[str]:
    lines = [
        f"{'actor':<12} {'kind':<18} {'count':>6} {'per s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6}"
    ]
    lines.append("-" * len(lines[0]))
    for log in logs:
        window = (finished_at or ended) - began if log.actor == "participants" else ended - began
        kinds = defaultdict(list)
        for _, kind, seconds, status in log.requests:
            kinds[kind].append((seconds, status))
        if len(kinds) > 1:
            kinds["(all of them)"] = [entry for entries in kinds.values() for entry in entries]
        for kind, entries in kinds.items():
            ms = [seconds * 1000 for seconds, _ in entries]
            shown = [percentile(ms, f) for f in (0.50, 0.95, 0.99)]
            bad = sum(1 for _, status in entries if status is None or status >= 400)
            lines.append(
                f"{log.actor:<12} {kind:<18} {len(entries):>6} {len(entries) / window:>7.2f} "
                + " ".join(f"{value:>7.0f}" for value in shown)
                + f" {bad:>6}"
            )
    return lines


# -- the run --------------------------------------------------------------------------------


def run(args, folder: Path, url: str) -> int:
    print(f"== set-up: {args.participants} participants on PostgreSQL", flush=True)
    setup = prepare(url, args.participants)
    print(f"   database, questionnaires, cohort, wave and accounts in {setup.seconds:.1f} s")
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        env = {
            **os.environ,
            "SURVEYAPP_DATABASE_URL": url,
            "SURVEYAPP_SECRET_KEY": secrets.token_hex(32),
            "SURVEYAPP_INSTANCE_PATH": str(folder / "instance"),
            "SURVEYAPP_BASE_URL": BASE_URL,
            "SURVEYAPP_MAIL_SERVER": "127.0.0.1",
            "SURVEYAPP_MAIL_PORT": str(smtp.port),
            "SURVEYAPP_MAIL_SECURITY": "none",
            "SURVEYAPP_MAIL_FROM": "evaluation@load.test",
        }
        gunicorn = ["--workers", str(args.workers), "--threads", str(args.threads)]
        server = Server(
            "surveyapp",
            "wsgi:app",
            PROJECT_ROOT,
            {k: v for k, v in env.items() if k.startswith("SURVEYAPP_")},
            folder / "gunicorn.log",
            settings=gunicorn,
        )
        with server:
            setup_log = Log("set-up")
            began = time.perf_counter()
            said = cron_once(env, setup_log)
            print(
                f"   invitations: {said.splitlines()[0] if said else '(nothing said)'} "
                f"in {time.perf_counter() - began:.1f} s; the SMTP server has "
                f"{len(mailbox.received)}",
                flush=True,
            )
            if setup_log.error_count:
                print("\n".join(setup_log.errors))
                return 1
            result = load(args, setup, server.port, env, mailbox, url)
            if server.process.poll() is not None:
                print(f"gunicorn stopped during the run:\n{server.log_tail()}")
                return 1
            return result
    finally:
        smtp.stop()


def load(args, setup: Setup, port: int, env, mailbox: Mailbox, url: str) -> int:
    duration = args.duration
    began = time.perf_counter()
    start_utc = utcnow()
    first_at, second_at = 0.1 * duration, 0.4 * duration
    schedule_reminders(
        url,
        setup,
        {
            "First reminder": start_utc + timedelta(seconds=first_at),
            "Second reminder": start_utc + timedelta(seconds=second_at),
        },
    )
    plan = [
        (began + first_at, setup.steps["First reminder"], "First reminder"),
        (began + second_at, setup.steps["Second reminder"], "Second reminder"),
    ]
    people = [Person(id_number, token) for id_number, token in setup.people]
    random.Random(6).shuffle(people)
    stop = threading.Event()
    logs = {
        name: Log(name) for name in ("participants", "admin", "evaluator", "cron")
    }  # fmt: skip
    notes: list[str] = []
    state = {"next": 0, "done": 0, "finished_at": None}
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=participants,
            args=(port, people, setup.questionnaire, logs["participants"], stop, lock, state),
            daemon=True,
        )
        for _ in range(args.clients)
    ]
    threads += [
        threading.Thread(
            target=administrator,
            args=(port, setup.wave_id, plan, logs["admin"], stop, notes),
            daemon=True,
        ),
        threading.Thread(
            target=evaluator,
            args=(port, setup.wave_id, logs["evaluator"], stop, args.export_pause),
            daemon=True,
        ),
        threading.Thread(
            target=cron, args=(env, args.cron_every, logs["cron"], stop, notes), daemon=True
        ),
    ]
    print(
        f"\n== load: {duration:g} s; {len(people)} participants, {args.clients} at once; "
        f"an administrator (Send now at {first_at:g} s and {second_at:g} s); cron every "
        f"{args.cron_every:g} s; an evaluator exporting; gunicorn --workers {args.workers} "
        f"--threads {args.threads}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for thread in threads:
        thread.start()
    stop.wait(duration)
    stop.set()
    ended = time.perf_counter()
    for thread in threads:
        thread.join(timeout=SLOW_TIMEOUT + 10)
    finished_at = state["finished_at"]
    ended_utc = utcnow()

    final_log = Log("final cron")
    said = cron_once(env, final_log)
    notes.append(f"final cron run after the load: {said.splitlines()[0] if said else ''}")
    submitted = sum(1 for p in people if p.submitted)
    started = sum(1 for p in people if p.started)
    pages = sum(1 for r in logs["participants"].requests if r[1] == "page POST" and r[3] == 303)
    window = (finished_at or ended) - began
    print(
        f"   participants: {started} started, {submitted} sent their answers; "
        + (
            f"all done after {finished_at - began:.1f} s"
            if finished_at
            else f"time was up after {ended - began:.1f} s"
        )
        + f"; {pages / window:.1f} pages/s, {submitted / window:.1f} submissions/s"
    )
    for note in notes:
        print(f"   {note}")
    print()
    print("\n".join(figures(list(logs.values()), began, ended, finished_at)))
    errors = [(log.actor, message) for log in [*logs.values(), final_log] for message in log.errors]
    error_count = sum(log.error_count for log in [*logs.values(), final_log])
    print(f"load average at the end (other programs included): {os.getloadavg()[0]:.1f}")
    print(f"\nerrors: {error_count}")
    for actor, message in errors[:10]:
        print(f"   {actor}: {message}")

    checks = [check_final_export(port, setup.wave_id, people)]
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            checks = check_answers(session, setup, people) + checks
            checks += check_reminders(session, setup, mailbox, ended_utc)
    finally:
        engine.dispose()
    print("\n== checks")
    for ok, text in checks:
        print(f"   {'PASS' if ok else 'FAIL'}  {text}")
    failed = error_count > 0 or not all(ok for ok, _ in checks)
    print(f"\n{'FAILED' if failed else 'All checks passed'}.")
    return 1 if failed else 0


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--participants", type=int, default=500, help="people in the wave")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--clients", type=int, default=40, help="participants answering at once")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn --workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn --threads")
    parser.add_argument("--cron-every", type=float, default=10.0, help="seconds between runs")
    parser.add_argument(
        "--export-pause", type=float, default=0.5, help="seconds between evaluator downloads"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.setswitchinterval(0.001)  # many client threads: hand the GIL over quickly
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="surveyapp-load-") as tmp:
        with postgres_database() as url:
            if url is None:
                print("The load test needs PostgreSQL on 127.0.0.1:5432 (user postgres).")
                return 1
            status = run(args, Path(tmp), url)
    print(f"({time.perf_counter() - began:.0f} s in all)")
    return status


if __name__ == "__main__":
    sys.exit(main())
