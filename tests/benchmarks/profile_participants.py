"""Where a participant page's CPU goes, in process: cProfile over Flask's test client.

Run from the repository folder::

    python -m tests.benchmarks.profile_participants [--participants 60] [--top 30]
        [--database sqlite|postgresql]

It prepares a database as tests/benchmarks/participants.py does, walks one person through
the questionnaire once untimed (to warm caches), then profiles ``--participants`` people
walking every page (GET and POST, CSRF on) and prints the CPU per page and the functions
that take it, by their own time and with what they call.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import tempfile
import time
from pathlib import Path

from surveyapp import PROJECT_ROOT, create_app
from surveyapp.questionnaires import load_all
from surveyapp.questionnaires.answers import read_page
from tests.benchmarks.common import CSRF_TOKEN, FIRST_PAGE, postgres_database
from tests.benchmarks.participants import QUESTIONNAIRE, expect, next_page, prepare_database
from tests.participant import page_data


def walk(client, token: str, questionnaire) -> int:
    """One person: the link, the start page, then GET and POST each page; returns pages."""
    client.delete_cookie("session")
    expect(client.get(f"/r/{token}"), 303)
    start = expect(client.get("/r/"), 200)
    page_id = FIRST_PAGE.search(start.data).group(1).decode()
    answers: dict = {}
    pages = 0
    while page_id is not None:
        shown = expect(client.get(f"/r/page/{page_id}"), 200)
        page = questionnaire.page(page_id)
        data = page_data(page)
        answers.update(read_page(page, data, answers).values)
        data["csrf_token"] = [CSRF_TOKEN.search(shown.data).group(1).decode()]
        posted = expect(client.post(f"/r/page/{page_id}", data=data), 303)
        page_id = next_page(posted.location)
        pages += 1
    return pages


def profile(url: str, people: int, top: int) -> None:
    questionnaire = load_all(PROJECT_ROOT / "questionnaires").questionnaires[QUESTIONNAIRE]
    prepared = prepare_database(url, 1, 2 * people + 1)
    tokens = prepared.tokens[0]
    plain, profiled = tokens[1 : people + 1], tokens[people + 1 :]
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(16)})
    try:
        client = app.test_client()
        walk(client, tokens[0], questionnaire)
        began, cpu = time.perf_counter(), time.process_time()
        pages = sum(walk(client, token, questionnaire) for token in plain)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        print(
            f"{people} people, {pages} pages: {1000 * cpu / pages:.2f} ms CPU per page "
            f"(GET + POST, the link and start page shared out; the test client's own work "
            f"included), {1000 * wall / pages:.2f} ms wall"
        )
        profiler = cProfile.Profile()
        profiler.enable()
        for token in profiled:
            walk(client, token, questionnaire)
        profiler.disable()
    finally:
        app.extensions["surveyapp.engine"].dispose()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=60)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="surveyapp-profile-") as tmp:
        os.environ["SURVEYAPP_INSTANCE_PATH"] = str(Path(tmp) / "instance")
        if args.database == "sqlite":
            profile(f"sqlite:///{Path(tmp) / 'profile.sqlite'}", args.participants, args.top)
            return
        with postgres_database() as url:
            profile(url, args.participants, args.top)


if __name__ == "__main__":
    main()
