"""How many cells the results pages hide: the old table-by-table rule against the one decision.

Run: ``python -m tests.benchmarks.hidden_cells``. Prints, for the demo programme
(every wave, every breakdown) and for a generated programme of 60 people in seven
teams of 3 to 21 across three regions and two roles, the groups hidden on the
scale results page by the rule each table used to decide alone (fewer than the
threshold, then the next-smallest) and by the programme's disclosure decision
(``surveyapp.scoring.disclosure``), with the groups the page lists.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.scoring import hidden_groups, load_answers, scores_table, summarise_scales
from surveyapp.scoring.disclosure import FIELDS, decide_one, people_frame, programme_release
from surveyapp.scoring.summary import group_labels
from tests.scoring.builders import questionnaire_from


def hidden_counts(scores: pd.DataFrame, questionnaire, threshold: int, release) -> list[tuple]:
    """Per breakdown: (breakdown, groups listed, hidden before, hidden after), first scale."""
    first_scale = questionnaire.scales[0].id
    rows = []
    for by in FIELDS:
        counts = scores.dropna(subset=[first_scale]).groupby(group_labels(scores[by])).size()
        before = int((hidden_groups(counts, threshold) != "").sum()) if len(counts) else 0
        table = summarise_scales(scores, questionnaire, by=by, threshold=threshold, release=release)
        table = table[(table["scale"] == first_scale) & ~table["is_total"]]
        rows.append((by, len(table), before, int(table["hidden"].sum())))
    return rows


def print_rows(title: str, rows: list[tuple]) -> None:
    print(f"\n{title}")
    print(f"  {'breakdown':<14}{'groups':>8}{'hidden before':>16}{'hidden after':>15}")
    for by, groups, before, after in rows:
        print(f"  {by:<14}{groups:>8}{before:>16}{after:>15}")
    print(
        f"  {'all':<14}{sum(r[1] for r in rows):>8}{sum(r[2] for r in rows):>16}"
        f"{sum(r[3] for r in rows):>15}"
    )


def demo_programme() -> None:
    from surveyapp import create_app
    from surveyapp.db import get_session
    from surveyapp.models import Programme

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "hidden-cells",
                "DATABASE_URL": f"sqlite:///{Path(folder) / 'demo.sqlite'}",
            }
        )
        result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            session = get_session()
            programme = session.query(Programme).one()
            threshold = programme.reporting_threshold
            for wave in sorted(programme.waves, key=lambda wave: wave.id):
                questionnaire = questionnaire_of(wave.questionnaire_version)
                if not questionnaire.scales:
                    continue
                scores = scores_table(load_answers(session, wave), questionnaire)
                release = programme_release(session, wave, threshold)
                print_rows(
                    f"Demo: {wave.label} ({len(scores)} responses, threshold {threshold})",
                    hidden_counts(scores, questionnaire, threshold, release),
                )


def sixty_people(seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    sizes = [3, 4, 6, 8, 9, 9, 21]  # seven teams, 60 people
    regions = ["North", "North", "South", "South", "South", "East", "East"]
    rows = []
    for number, (size, region) in enumerate(zip(sizes, regions, strict=True), start=1):
        mentors = int(rng.integers(0, 4))
        for person in range(size):
            role = "Mentor" if person < mentors else "Mentee"
            rows.append(
                (f"T{number}-{person}", f"Team {number}", f"{region} council", region, role)
            )
    people = pd.DataFrame(rows, columns=["response_id", *FIELDS]).set_index("response_id")
    people.insert(0, "id_number", None)
    questionnaire = questionnaire_from()
    for scale in questionnaire.scales:
        people[scale.id] = rng.uniform(1, 5, len(people))
    release = decide_one(people_frame(people), 5)
    print_rows(
        "60 people in seven teams of 3 to 21, three regions, two roles (threshold 5)",
        hidden_counts(people, questionnaire, 5, release),
    )


if __name__ == "__main__":
    demo_programme()
    sixty_people()
