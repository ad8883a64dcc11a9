"""How many questionnaire pages per second surveyapp serves to participants, and the ceiling.

Run from the repository folder (needs gunicorn and, for PostgreSQL, a server on
127.0.0.1:5432 with user ``postgres`` and trust authentication)::

    python -m tests.benchmarks.participants [--clients 16 64] [--participants 2000]
        [--duration 20] [--warmup 2] [--databases sqlite postgresql]

For each database it runs the migrations, stores the shipped questionnaires and
makes a programme of N participants with one open wave of ``peer_support_baseline``
(six pages, 57 answers) per concurrency level, so every run uses fresh links.
It then serves the app with ``gunicorn -w 2 --threads 4`` on 127.0.0.1 and lets
simulated participants answer it: open the link, then for each page GET it,
read the CSRF token and POST valid answers (``tests.participant.page_data``),
expecting 303. A page is one GET plus one accepted POST.

The ceiling is a bare Flask app written to a temporary folder and served the
same way: its GET renders a Jinja page of the same size, its POST checks a
session-bound token, inserts one row per answer into the same kind of database
and redirects with 303. surveyapp / ceiling says how much of the possible
throughput the app's own logic leaves.

The clients are threads in this process. Each simulated person opens a new
connection, kept alive across their pages, speaking just enough HTTP/1.1 with
a hand-kept session cookie (about 40 us of CPU per request on one thread,
against 150 for http.client). The CPU line of each run shows what the client,
gunicorn and everything else on the machine (PostgreSQL, other programs) used,
so a saturated or busy machine is visible. Nothing listens beyond loopback,
and every server started here is stopped before the script ends.
The exit status is 1 when any request failed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
)
from sqlalchemy.orm import Session

from surveyapp import PROJECT_ROOT, create_app
from surveyapp.cli import alembic_config
from surveyapp.clock import utcnow
from surveyapp.db import make_engine
from surveyapp.questionnaires import Questionnaire, load_all
from surveyapp.questionnaires.answers import read_page
from surveyapp.waves.operations import create_wave
from tests.benchmarks.common import (
    CLK_TCK,
    CSRF_TOKEN,
    FIRST_PAGE,
    GUNICORN_SETTINGS,
    REQUEST_TIMEOUT,
    Browser,
    Failure,
    Server,
    latencies,
    postgres_database,
)
from tests.factories import make_participant, make_programme, stored_version
from tests.participant import page_data

QUESTIONNAIRE = "peer_support_baseline"


# -- the database ------------------------------------------------------------------------


@dataclass
class Prepared:
    """A database ready for the runs: one list of fresh links per surveyapp run."""

    url: str
    tokens: list[list[str]]
    probe_token: str
    seconds: float


def prepare_database(url: str, runs: int, participants: int) -> Prepared:
    """Migrate, store the questionnaires, and invite ``participants`` people once per run."""
    from alembic import command

    started = time.perf_counter()
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    now = utcnow()
    dates = {"opens_at": now - timedelta(days=1), "closes_at": now + timedelta(days=30)}
    try:
        with Session(engine) as session:
            version = stored_version(session, QUESTIONNAIRE)
            programme = make_programme(session, name="Benchmark programme")
            for _ in range(participants):
                make_participant(session, programme)
            waves = [
                create_wave(
                    session,
                    programme=programme,
                    version=version,
                    label=f"Benchmark run {number}",
                    privacy="identified",
                    now=now,
                    **dates,
                )
                for number in range(1, runs + 1)
            ]
            # A separate person walks the questionnaire once before the load, to check the
            # flow and to measure the pages the ceiling must match.
            probe = make_programme(session, name="Benchmark probe")
            make_participant(session, probe)
            probe_wave = create_wave(
                session,
                programme=probe,
                version=version,
                label="Probe",
                privacy="identified",
                now=now,
                **dates,
            )
            session.commit()
            tokens = [[invitation.token for invitation in wave.invitations] for wave in waves]
            probe_token = probe_wave.invitations[0].token
    finally:
        engine.dispose()
    return Prepared(url, tokens, probe_token, time.perf_counter() - started)


# -- one walk through the app, in process ------------------------------------------------


def probe_pages(url: str, token: str, questionnaire: Questionnaire) -> dict:
    """Walk the questionnaire once through Flask's test client, with CSRF on.

    Returns what the ceiling must imitate: the start page's size and, per page
    in the order the server asks for them, its size, the answer ids it stores
    and the page that follows.
    """
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(16)})
    try:
        client = app.test_client()
        expect(client.get(f"/r/{token}"), 303)
        start = expect(client.get("/r/"), 200)
        page_id = FIRST_PAGE.search(start.data).group(1).decode()
        answers: dict = {}
        pages = []
        while page_id is not None:
            shown = expect(client.get(f"/r/page/{page_id}"), 200)
            page = questionnaire.page(page_id)
            data = page_data(page)
            values = read_page(page, data, answers).values
            answers.update(values)
            data["csrf_token"] = [CSRF_TOKEN.search(shown.data).group(1).decode()]
            posted = expect(client.post(f"/r/page/{page_id}", data=data), 303)
            following = next_page(posted.location)
            pages.append(
                {
                    "id": page_id,
                    "title": page.title,
                    "size": len(shown.data),
                    "answers": list(values),
                    "next": following,
                }
            )
            page_id = following
        return {"start_size": len(start.data), "first": pages[0]["id"], "pages": pages}
    finally:
        app.extensions["surveyapp.engine"].dispose()


def expect(response, status: int):
    if response.status_code != status:
        raise Failure(
            f"{response.request.method} {response.request.path}: {response.status_code}, "
            f"expected {status}: {response.text[:300]}"
        )
    return response


def next_page(location: str) -> str | None:
    """The page a 303 after a POST points at; None for check-answers (the last page is done)."""
    if location.startswith("/r/page/"):
        return location.removeprefix("/r/page/")
    if location == "/r/check-answers":
        return None
    raise Failure(f"POST redirected to {location!r}")


# -- the ceiling ----------------------------------------------------------------------------


CEILING_APP = '''
"""The ceiling: a participant page's unavoidable work in bare Flask, without surveyapp."""

import hmac
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, abort, redirect, request, session
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, UniqueConstraint
from sqlalchemy import create_engine, insert, text

SPEC = json.loads(Path(os.environ["CEILING_SPEC"]).read_text())
PAGES = {page["id"]: page for page in SPEC["pages"]}
engine = create_engine(os.environ["CEILING_DATABASE_URL"])
answers = Table(
    "ceiling_answers",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("token", String(64), nullable=False),
    Column("answer_id", String(100), nullable=False),
    Column("value", JSON),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("token", "answer_id"),
)
app = Flask(__name__)
app.secret_key = os.environ["CEILING_SECRET_KEY"]

LAYOUT = """<!DOCTYPE html>
<html lang="en" class="govuk-template"><head><meta charset="utf-8">
<title>{{ title }}</title><link rel="stylesheet" href="/static/app.css"></head>
<body class="govuk-template__body"><header class="govuk-header"><div class="govuk-width-container">
<span class="govuk-header__service-name">surveyapp</span></div></header>
<div class="govuk-width-container"><main class="govuk-main-wrapper" id="main-content">
{% block content %}{% endblock %}
<p class="app-filler" hidden>{{ filler }}</p></main></div></body></html>"""
START = app.jinja_env.from_string(LAYOUT.replace("{% block content %}{% endblock %}", """
<h1 class="govuk-heading-xl">{{ title }}</h1>
<a href="/r/page/{{ first }}" role="button" class="govuk-button">Start now</a>"""))
PAGE = app.jinja_env.from_string(LAYOUT.replace("{% block content %}{% endblock %}", """
<h1 class="govuk-heading-l">{{ title }}</h1>
<form method="post" action="/r/page/{{ page_id }}" novalidate>
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="hidden" name="page_id" value="{{ page_id }}">
{% for answer_id in answer_ids %}
<div class="govuk-form-group"><fieldset class="govuk-fieldset">
<legend class="govuk-fieldset__legend">Question {{ loop.index }}</legend>
<div class="govuk-radios">{% for code in range(1, 6) %}
<div class="govuk-radios__item"><input class="govuk-radios__input" id="{{ answer_id }}-{{ code }}"
 name="{{ answer_id }}" type="radio" value="{{ code }}">
<label class="govuk-label govuk-radios__label" for="{{ answer_id }}-{{ code }}">{{ code }}</label>
</div>{% endfor %}</div></fieldset></div>
{% endfor %}
<button type="submit" class="govuk-button">Continue</button></form>"""))
FILLERS = {}


def _sized(template, key, size, **context):
    """Render, padding the page once per key to the size surveyapp's page has."""
    if key not in FILLERS:
        FILLERS[key] = "x" * max(0, size - len(template.render(filler="", **context)))
    return template.render(filler=FILLERS[key], **context)


@app.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@app.get("/health")
def health():
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok"}


@app.get("/r/<token>")
def link(token):
    session["token"] = token
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect("/r/", code=303)


@app.get("/r/")
def start():
    if "token" not in session:
        abort(404)
    return _sized(START, "", SPEC["start_size"], title="Benchmark", first=SPEC["first"])


@app.route("/r/page/<page_id>", methods=["GET", "POST"])
def page(page_id):
    page = PAGES.get(page_id)
    token = session.get("token")
    if page is None or token is None:
        abort(404)
    if request.method == "POST":
        if not hmac.compare_digest(request.form.get("csrf_token", ""), session["csrf"]):
            abort(400)
        if request.form.get("page_id") != page_id:
            abort(400)
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = [
            {"token": token, "answer_id": answer_id, "value": request.form.getlist(answer_id),
             "updated_at": now}
            for answer_id in page["answers"]
        ]
        with engine.begin() as connection:
            connection.execute(insert(answers), rows)
        following = page["next"]
        return redirect(f"/r/page/{following}" if following else "/r/check-answers", code=303)
    return _sized(
        PAGE, page_id, page["size"], title=page["title"], page_id=page_id,
        csrf=session["csrf"], answer_ids=page["answers"],
    )
'''


def ceiling_table() -> Table:
    """The ceiling's table, as CEILING_APP declares it."""
    return Table(
        "ceiling_answers",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("token", String(64), nullable=False),
        Column("answer_id", String(100), nullable=False),
        Column("value", JSON),
        Column("updated_at", DateTime, nullable=False),
        UniqueConstraint("token", "answer_id"),
    )


# -- simulated participants ---------------------------------------------------------------


@dataclass
class Record:
    """Per client thread: (end time, kind, seconds, ok) of each request, and error messages."""

    requests: list[tuple[float, str, float, bool]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    get_bytes: int = 0


class Links:
    """Hands out links one at a time to the client threads."""

    def __init__(self, make: Callable[[], str | None]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self.exhausted = False

    @classmethod
    def of(cls, tokens: list[str]) -> Links:
        remaining = iter(tokens)
        return cls(lambda: next(remaining, None))

    @classmethod
    def random(cls) -> Links:
        return cls(lambda: secrets.token_urlsafe(16))

    def next(self) -> str | None:
        with self._lock:
            token = self._make()
            if token is None:
                self.exhausted = True
            return token


def answer_one(browser: Browser, token: str, bodies: dict[str, bytes], record: Record) -> None:
    """One participant: open the link, then GET and POST every page until check-answers."""

    def timed(kind: str, method: str, path: str, expected: int, body: bytes | None = None):
        began = time.perf_counter()
        try:
            status, location, data = browser.request(method, path, body)
        except (OSError, ValueError, IndexError) as exc:  # refused, cut off, garbled
            ended = time.perf_counter()
            record.requests.append((ended, kind, ended - began, False))
            raise Failure(f"{method} {path}: {exc!r}") from exc
        ended = time.perf_counter()
        ok = status == expected
        record.requests.append((ended, kind, ended - began, ok))
        if not ok:
            raise Failure(f"{method} {path}: {status}, expected {expected}: {data[:200]!r}")
        return location, data

    # A new person is a new browser: a new connection (kept alive across their pages) and no
    # cookie. Reconnecting also lets gunicorn spread people over its workers; connections kept
    # for a whole run stay with whichever worker accepted them, often all with one.
    browser.close()
    browser.cookies.clear()
    location, _ = timed("link", "GET", f"/r/{token}", 303)
    if location != "/r/":
        raise Failure(f"the link redirected to {location!r}")
    _, start = timed("start", "GET", "/r/", 200)
    found = FIRST_PAGE.search(start)
    if found is None:
        raise Failure("the start page has no link to a first page")
    page_id = found.group(1).decode()
    while page_id is not None:
        path = f"/r/page/{page_id}"
        _, shown = timed("get", "GET", path, 200)
        record.get_bytes += len(shown)
        csrf = CSRF_TOKEN.search(shown)
        if csrf is None or page_id not in bodies:
            raise Failure(f"GET {path}: no csrf_token, or a page the probe did not see")
        body = bodies[page_id] + b"&csrf_token=" + quote(csrf.group(1)).encode()
        location, _ = timed("post", "POST", path, 303, body)
        page_id = next_page(location)


def client_loop(port: int, links: Links, bodies: dict, stop: threading.Event, record: Record):
    browser = Browser(port)
    try:
        while not stop.is_set():
            token = links.next()
            if token is None:
                return
            try:
                answer_one(browser, token, bodies, record)
            except Failure as failure:
                if len(record.errors) < 5:
                    record.errors.append(str(failure))
                browser.close()
                time.sleep(0.05)  # a server in trouble is not hammered in a tight loop
    finally:
        browser.close()


# -- measuring ---------------------------------------------------------------------------


@dataclass
class Cpu:
    wall: float
    client: float
    server: float
    busy: float

    @classmethod
    def now(cls, server: Server) -> Cpu:
        times = os.times()
        server_ticks = 0
        for pid in server.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                server_ticks += int(fields[11]) + int(fields[12])
            except (OSError, IndexError):
                continue
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
        busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
        return cls(
            time.perf_counter(),
            times.user + times.system,
            server_ticks / CLK_TCK,
            busy / CLK_TCK,
        )


@dataclass
class Result:
    database: str
    app: str
    clients: int
    seconds: float
    pages: int = 0
    requests: int = 0
    errors: int = 0
    get_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    exhausted: bool = False
    cpu_client: float = 0.0
    cpu_server: float = 0.0
    cpu_other: float = 0.0
    get_bytes: float = 0.0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def server_ms_per_page(self) -> float:
        """gunicorn's CPU per page: steadier than pages/s when other programs share the CPUs."""
        return 1000 * self.cpu_server / self.pages_per_second if self.pages else 0.0


def drive(
    server: Server,
    database: str,
    app: str,
    clients: int,
    links: Links,
    bodies: dict[str, bytes],
    warmup: float,
    duration: float,
) -> Result:
    """Run ``clients`` participants at once; count only what ends inside the timed window."""
    stop = threading.Event()
    records = [Record() for _ in range(clients)]
    threads = [
        threading.Thread(
            target=client_loop, args=(server.port, links, bodies, stop, record), daemon=True
        )
        for record in records
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, began + warmup - time.perf_counter()))
    first = Cpu.now(server)
    time.sleep(max(0.0, first.wall + duration - time.perf_counter()))
    last = Cpu.now(server)
    stop.set()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT + 5)
    window = (first.wall, last.wall)
    result = Result(database, app, clients, last.wall - first.wall, exhausted=links.exhausted)
    pages_got = bytes_got = 0
    for record in records:
        result.messages += record.errors
        bytes_got += record.get_bytes
        for ended, kind, seconds, ok in record.requests:
            if not window[0] <= ended <= window[1]:
                continue
            result.requests += 1
            if not ok:
                result.errors += 1
            elif kind == "get":
                result.get_ms.append(seconds * 1000)
                pages_got += 1
            elif kind == "post":
                result.post_ms.append(seconds * 1000)
                result.pages += 1
    wall = result.seconds
    result.cpu_client = (last.client - first.client) / wall
    result.cpu_server = (last.server - first.server) / wall
    result.cpu_other = (last.busy - first.busy) / wall - result.cpu_client - result.cpu_server
    total_gets = sum(
        1 for record in records for _, kind, _, ok in record.requests if ok and kind == "get"
    )
    result.get_bytes = bytes_got / total_gets if total_gets else 0.0
    print(describe(result), flush=True)
    return result


def describe(result: Result) -> str:
    lines = [
        f"  {result.app:<9} {result.clients:>3} clients: {result.pages_per_second:7.1f} pages/s, "
        f"{result.requests_per_second:7.1f} requests/s, GET p50/p95/p99 "
        f"{latencies(result.get_ms)} ms, POST p50/p95/p99 {latencies(result.post_ms)} ms, "
        f"{result.errors} errors",
        f"      cpu (cores of {os.cpu_count()}): client {result.cpu_client:.2f}, "
        f"gunicorn {result.cpu_server:.2f} ({result.server_ms_per_page:.1f} ms/page), "
        f"other {result.cpu_other:.2f}; client "
        f"{1e6 * result.cpu_client / max(result.requests_per_second, 1e-9):.0f} us CPU/request; "
        f"mean page {result.get_bytes / 1024:.1f} KiB",
    ]
    if result.exhausted:
        lines.append("      NOTE: every link was used before the time was up; raise --participants")
    lines += [f"      error: {message}" for message in result.messages[:3]]
    return "\n".join(lines)


# -- one database ------------------------------------------------------------------------


def bench_database(database: str, url: str, args, folder: Path) -> list[Result]:
    questionnaire = load_all(PROJECT_ROOT / "questionnaires").questionnaires[QUESTIONNAIRE]
    print(
        f"\n== {database}: preparing {args.participants} participants x {len(args.clients)} waves"
    )
    prepared = prepare_database(url, len(args.clients), args.participants)
    spec = probe_pages(url, prepared.probe_token, questionnaire)
    print(
        f"   ready in {prepared.seconds:.1f}s; {QUESTIONNAIRE}: {len(spec['pages'])} pages, "
        f"answers per page {[len(page['answers']) for page in spec['pages']]}, page sizes "
        f"{[round(page['size'] / 1024, 1) for page in spec['pages']]} KiB",
        flush=True,
    )
    bodies = {
        page.id: urlencode(page_data(page), doseq=True).encode() for page in questionnaire.pages
    }
    results = []
    secret = secrets.token_hex(32)
    surveyapp = Server(
        f"surveyapp on {database}",
        "wsgi:app",
        PROJECT_ROOT,
        {"SURVEYAPP_DATABASE_URL": url, "SURVEYAPP_SECRET_KEY": secret},
        folder / f"gunicorn-surveyapp-{database}.log",
    )
    with surveyapp:
        for clients, tokens in zip(args.clients, prepared.tokens, strict=True):
            links = Links.of(tokens)
            results.append(
                drive(
                    surveyapp,
                    database,
                    "surveyapp",
                    clients,
                    links,
                    bodies,
                    args.warmup,
                    args.duration,
                )
            )

    engine = create_engine(url)
    try:
        ceiling_table().metadata.create_all(engine)
    finally:
        engine.dispose()
    spec_file = folder / "ceiling_spec.json"
    spec_file.write_text(json.dumps(spec))
    (folder / "ceiling_app.py").write_text(textwrap.dedent(CEILING_APP).lstrip())
    ceiling = Server(
        f"ceiling on {database}",
        "ceiling_app:app",
        folder,
        {
            "CEILING_DATABASE_URL": url,
            "CEILING_SECRET_KEY": secret,
            "CEILING_SPEC": str(spec_file),
        },
        folder / f"gunicorn-ceiling-{database}.log",
    )
    with ceiling:
        for clients in args.clients:
            results.append(
                drive(
                    ceiling,
                    database,
                    "ceiling",
                    clients,
                    Links.random(),
                    bodies,
                    args.warmup,
                    args.duration,
                )
            )
    return results


def summary(results: list[Result]) -> str:
    """One row per run; surveyapp rows end with their share of the ceiling's pages/s."""
    header = (
        f"{'database':<10} {'app':<9} {'clients':>7} {'pages/s':>8} {'req/s':>7} "
        f"{'GET p50/p95/p99':>16} {'POST p50/p95/p99':>17} {'errors':>6} "
        f"{'CPU ms/page':>11} {'other CPU':>9} {'vs ceiling':>10}"
    )
    ceilings = {(r.database, r.clients): r for r in results if r.app == "ceiling"}
    rows = [header, "-" * len(header)]
    for result in results:
        ceiling = ceilings.get((result.database, result.clients))
        ratio = (
            f"{result.pages_per_second / ceiling.pages_per_second:.2f}"
            if ceiling is not None and ceiling.pages and result.app == "surveyapp"
            else ""
        )
        rows.append(
            f"{result.database:<10} {result.app:<9} {result.clients:>7} "
            f"{result.pages_per_second:>8.1f} {result.requests_per_second:>7.1f} "
            f"{latencies(result.get_ms):>16} {latencies(result.post_ms):>17} "
            f"{result.errors:>6} {result.server_ms_per_page:>11.1f} {result.cpu_other:>9.2f} "
            f"{ratio:>10}"
        )
    rows += [
        "",
        "Latencies in ms, measured by the client (queueing included). CPU ms/page: gunicorn's",
        "CPU per page (workers and master). other CPU: cores busy outside this script and",
        "gunicorn (PostgreSQL, other programs); much above 0 on SQLite means a busy machine.",
    ]
    return "\n".join(rows)


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.participants", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--participants", type=int, default=2000, help="links per run")
    parser.add_argument("--duration", type=float, default=20.0, help="timed seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds per run")
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.setswitchinterval(0.001)  # 64 client threads: hand the GIL over quickly
    began = time.perf_counter()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="surveyapp-bench-") as tmp:
        folder = Path(tmp)
        # The probe's create_app and the servers keep their instance folder here, not in the repo.
        os.environ["SURVEYAPP_INSTANCE_PATH"] = str(folder / "instance")
        print(
            f"surveyapp participant pages: {QUESTIONNAIRE}, "
            f"gunicorn {' '.join(GUNICORN_SETTINGS)}, "
            f"clients {args.clients}, {args.duration:g}s per run after {args.warmup:g}s warm-up, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )
        for database in args.databases:
            if database == "sqlite":
                url = f"sqlite:///{folder / 'bench.sqlite'}"
                results += bench_database(database, url, args, folder)
                continue
            with postgres_database() as url:
                if url is not None:
                    results += bench_database(database, url, args, folder)
    print(f"\nSummary ({time.perf_counter() - began:.0f}s in all)\n{summary(results)}")
    return 1 if any(result.errors for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
