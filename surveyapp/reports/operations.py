"""Reports per team: what each team's PDF says, taken from the evaluator's results pages.

Flask-free. Every number in a report is a number an evaluator's results pages show
for the same wave: the same functions make them, with the programme's disclosure
decision (``scoring.disclosure.programme_release``), the reporting threshold and
the same formatting (``results.operations``):

- the response rate: the evaluator's dashboard (``waves.small_counts.rates_only``);
- the scale scores of the team and of all respondents: the results page broken
  down by team (``summarise_scales``);
- the culture profile (chart, table, the items leaning most each way): the
  culture page of the team (``culture_profile``, ``culture_chart``, ``leaning_items``);
- change between waves: the change page broken down by team (``paired_change``),
  from the identified wave before this one.

A report only ever holds its own team and all respondents, the two rows the
results pages show beside each other, so nothing in it can be subtracted to give
a hidden team. A team the results pages hide (too few responses, pooled with
small groups, hidden so that a smaller one cannot be worked out) gets no report,
and the batch says why.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from surveyapp import scoring
from surveyapp.models import Wave
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.results import operations as results
from surveyapp.scoring.disclosure import POOLED, programme_release
from surveyapp.scoring.summary import NOT_RECORDED
from surveyapp.scoring.suppression import NO_RESPONSES
from surveyapp.waves import dashboard, small_counts

#: Why a group of the results pages gets no report, beside the results pages' own notes.
NOT_A_TEAM = {
    POOLED: "not a team: the small groups pooled together",
    NOT_RECORDED: "not a team: the respondents whose team was not recorded",
}
NOTHING_TO_REPORT = (
    "This questionnaire has no scales and no culture profile items, so there is nothing "
    "to report per team."
)
NO_ANSWERS = "Nobody has answered yet, so there is no report to make."

_CHART_TEMPLATES = Path(results.__file__).parent / "templates"


@dataclass
class TeamReport:
    """One team's report: its data as plain JSON values, and its culture chart as SVG."""

    team: str
    filename: str
    data: dict
    chart_svg: str = ""


@dataclass
class Batch:
    """Every team's report of one wave, the teams without one and why."""

    wave: Wave
    threshold: int
    reports: list[TeamReport] = field(default_factory=list)
    #: (team, why it has no report), as the results pages name and say it.
    withheld: list[tuple[str, str]] = field(default_factory=list)
    #: Why no team has a report at all ("" when some may).
    problem: str = ""

    def report(self, team: str) -> TeamReport | None:
        return next((report for report in self.reports if report.team == team), None)


def file_name(text: str, taken: set[str]) -> str:
    """A safe, unique file name for a team's PDF: ASCII letters and digits only."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:40] or "team"
    name, number = f"team_{stem}.pdf", 2
    while name in taken:
        name, number = f"team_{stem}_{number}.pdf", number + 1
    taken.add(name)
    return name


def culture_svg(chart: results.CultureChart) -> str:
    """The culture chart as the page's own SVG (``results/_culture_chart.html``)."""
    environment = Environment(
        loader=FileSystemLoader(_CHART_TEMPLATES), autoescape=select_autoescape(default=True)
    )
    template = environment.get_template("results/_culture_chart.html")
    return template.render(chart=chart, standalone=True)


def wave_batch(session: Session, wave: Wave, *, now: datetime) -> Batch:
    """Decide which teams of ``wave`` get a report, and gather what each one says."""
    threshold = wave.programme.reporting_threshold
    batch = Batch(wave=wave, threshold=threshold)
    questionnaire = questionnaire_of(wave.questionnaire_version)
    has_culture = any(item.type == "bipolar" for item in questionnaire.items())
    if not questionnaire.scales and not has_culture:
        batch.problem = NOTHING_TO_REPORT
        return batch
    answers = scoring.load_answers(session, wave)
    release = programme_release(session, wave, threshold)
    options = {"for_evaluator": True, "threshold": threshold, "release": release}
    summary = scoring.summarise_scales(
        scoring.scores_table(answers, questionnaire), questionnaire, by="team", **options
    ).to_dict("records")
    profile = (
        scoring.culture_profile(answers, questionnaire, by="team", **options)
        if has_culture
        else None
    )
    profile_rows = profile.to_dict("records") if profile is not None else []
    totals = [row for row in summary + profile_rows if row["is_total"]]
    if not totals or all(row["note"] == NO_RESPONSES for row in totals):
        batch.problem = NO_ANSWERS
        return batch
    teams = sorted({row["group"] for row in summary + profile_rows if not row["is_total"]})
    shared = {
        "rates": _rates(session, wave, threshold),
        "scales": results.scale_tables(summary),
        "change": _change(session, wave, threshold),
        "profile": profile,
        "profile_rows": profile_rows,
        "now": now,
    }
    taken: set[str] = set()
    for team in teams:
        if team in NOT_A_TEAM:
            batch.withheld.append((team, NOT_A_TEAM[team]))
            continue
        rows = [row for row in summary + profile_rows if row["group"] == team]
        if all(row["hidden"] for row in rows):
            batch.withheld.append((team, rows[0]["note"]))
            continue
        batch.reports.append(_team_report(wave, team, file_name(team, taken), shared))
    if not batch.reports and not batch.withheld:
        batch.problem = "No answer records a team, so there is no team to report on."
    return batch


def _rates(session: Session, wave: Wave, threshold: int) -> dict:
    """The response rates an evaluator's dashboard shows: by team, and the wave's."""
    counts = dashboard.wave_counts(session, wave)
    rows = small_counts.rates_only(
        dashboard.breakdown(session, wave, "team"), threshold, total_completed=counts.completed
    )
    shown = small_counts.shows_total(counts.completed, threshold, shows_counts=False)
    return {
        "teams": {row.name: row for row in rows},
        "all": f"{counts.rate}%" if shown else small_counts.fewer_than(threshold) + " responses",
        "target": f"{wave.target_rate}%",
    }


def _earlier_wave(wave: Wave) -> Wave | None:
    """The identified wave of the programme opened last before ``wave``, if any."""
    earlier = [
        other
        for other in wave.programme.waves
        if not other.is_anonymous
        and other.id != wave.id
        and (other.opens_at, other.id) < (wave.opens_at, wave.id)
    ]
    return max(earlier, key=lambda other: (other.opens_at, other.id), default=None)


def _change(session: Session, wave: Wave, threshold: int) -> dict:
    """The change page's tables by team, from the wave before this one to this one."""
    if wave.is_anonymous:
        return {
            "note": "This wave is anonymous: its answers keep no ID number, so change for the "
            "same people between waves cannot be measured."
        }
    first = _earlier_wave(wave)
    if first is None:
        return {"note": "There is no earlier identified wave to measure change from."}
    try:
        change = scoring.paired_change(
            session, first, wave, by="team", for_evaluator=True, threshold=threshold
        )
    except scoring.CannotPair as cannot:
        return {"note": str(cannot)}
    return {
        "first": first.label,
        "tables": results.change_tables(change.to_dict("records"), threshold=threshold),
    }


def _scale_cells(row: results.SummaryRow | None) -> dict:
    if row is None:
        return {"hidden": True, "note": "not shown", "n": "", "mean": "", "sd": "", "median": ""}
    return {
        "hidden": row.hidden,
        "note": row.note,
        "n": row.n,
        "mean": row.mean,
        "sd": row.sd,
        "median": row.median,
    }


def _team_report(wave: Wave, team: str, filename: str, shared: dict) -> TeamReport:
    programme = wave.programme
    rate = shared["rates"]["teams"].get(team)
    data = {
        "title": f"Team report: {team}",
        "team": team,
        "programme": programme.name,
        "wave": wave.label,
        "made": f"{shared['now'].day} {shared['now']:%B %Y}",
        "threshold": str(programme.reporting_threshold),
        "anonymous": wave.is_anonymous,
        "rate": {
            "team": f"{rate.rate}%" if rate is not None and rate.rate is not None else "",
            "note": (rate.note if rate is not None else "not on the invitation list"),
            "all": shared["rates"]["all"],
            "target": shared["rates"]["target"],
        },
        "scales": [],
        "culture": None,
        "change": {"note": shared["change"].get("note", ""), "first": "", "scales": []},
    }
    for table in shared["scales"]:
        by_group = {row.group: row for row in table.rows}
        data["scales"].append(
            {
                "label": table.label,
                "team": _scale_cells(by_group.get(team)),
                "all": _scale_cells(by_group.get(scoring.ALL_RESPONDENTS)),
            }
        )
    chart_svg = ""
    if shared["profile"] is not None:
        data["culture"], chart_svg = _culture(team, shared)
    for table in shared["change"].get("tables", []):
        by_group = {row.group: row for row in table.rows}
        data["change"]["first"] = shared["change"]["first"]
        data["change"]["scales"].append(
            {
                "label": table.label,
                "team": _change_cells(by_group.get(team)),
                "all": _change_cells(by_group.get(scoring.ALL_RESPONDENTS)),
            }
        )
    return TeamReport(team=team, filename=filename, data=data, chart_svg=chart_svg)


def _change_cells(row: results.ChangeRow | None) -> dict:
    if row is None:
        return {"hidden": True, "note": "nobody in this team answered both waves"}
    return {
        "hidden": row.hidden,
        "note": row.note,
        "n": row.n_paired,
        "first": row.mean_first,
        "second": row.mean_second,
        "change": row.mean_change,
        "ci": row.ci,
        "verdict": row.verdict,
    }


def _culture(team: str, shared: dict) -> tuple[dict, str]:
    """The culture page of the team: its note, or its chart, table and leaning items."""
    rows = shared["profile_rows"]
    chosen = [row for row in rows if row["group"] == team]
    everyone = [row for row in rows if row["is_total"]]
    note = next((row["note"] for row in chosen if row["hidden"]), "")
    if note and all(row["hidden"] for row in chosen):
        return {"note": note}, ""
    chart = results.culture_chart(chosen, team, everyone)
    leaning = scoring.leaning_items(shared["profile"], team)

    def listed(side: str) -> list[dict]:
        return [
            {
                "number": str(int(row["number"])),
                "left": row["left"],
                "right": row["right"],
                "mean": results.number(row["mean"]),
            }
            for row in leaning[side].to_dict("records")
        ]

    culture = {
        "note": "",
        "summary": chart.summary,
        "points": str(chart.rows[0].points) if chart.rows else "",
        "positive": listed("positive"),
        "negative": listed("negative"),
        "items": [
            {
                "number": str(row.number),
                "left": row.left,
                "right": row.right,
                "mean": row.mean,
                "all_mean": row.all_mean,
                "n": row.n,
            }
            for row in chart.rows
        ],
    }
    return culture, culture_svg(chart)
