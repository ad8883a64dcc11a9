"""A wave's data quality: its flags, the report of the data-quality page, and exclusion.

Flask-free. Flags come from ``quality.rules``; every number shown to an evaluator goes
through the programme's disclosure decision (``scoring.disclosure``), as the results
pages' numbers do.

**Leaving flagged responses out.** A page read with and without the flagged responses
differs, cell by cell, by the flagged people's contribution: subtracting the two would
show the answers of the flagged few of a group. So, for an evaluator, exclusion is
offered only when the excluded set is itself a group the decision could release: in
every released combination of the cohort fields (the classes every cell of every page
is a union of), the responses left out number 0 or at least the threshold, and so do
the responses kept. Every difference of two numbers with and without exclusion, on any
page, is then a sum over whole groups of at least the threshold. Otherwise the page
says plainly why exclusion is not offered and shows every response.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp.models import Response, Wave
from surveyapp.quality import rules
from surveyapp.quality.bands import TIME_BANDS, band_label
from surveyapp.questionnaires import Questionnaire
from surveyapp.questionnaires.answers import question_and_row
from surveyapp.scoring.disclosure import Release, fields_of, group_names

#: How many of the most often skipped items the report lists.
MOST_SKIPPED = 10
#: Flags the report counts, with their names on the page.
COUNTED = {
    "speeding": "Speeding",
    "straightlining": "Straightlining",
    "partial": "Partial response",
    "flagged": "Any of these",
}
#: The sentence of a page read with every response.
EVERY_RESPONSE = "Every response is included."


def wave_times(session: Session, wave: Wave) -> pd.DataFrame:
    """The time each released response of a wave kept: ``seconds`` and ``time_band``."""
    rows = session.execute(
        select(Response.id, Response.seconds_taken, Response.time_band).where(
            Response.wave_id == wave.id, Response.release.is_not(None)
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["response_id", "seconds", "time_band"])
    frame = frame.set_index("response_id")
    return frame.astype({"seconds": "Int64", "time_band": "Int64"})


def wave_flags(
    session: Session, wave: Wave, questionnaire: Questionnaire, answers: pd.DataFrame
) -> pd.DataFrame:
    """Every flag of every released response (``rules.flags_table``)."""
    return rules.flags_table(
        answers, questionnaire, wave_times(session, wave), anonymous=wave.is_anonymous
    )


def wave_report(
    session: Session,
    wave: Wave,
    questionnaire: Questionnaire,
    *,
    release: Release | None,
    threshold: int,
) -> Report:
    """Load a wave's released answers and make its data-quality report (``report``)."""
    from surveyapp.scoring.scales import load_answers

    answers = load_answers(session, wave)
    flags = wave_flags(session, wave, questionnaire, answers)
    return report(
        flags,
        answers,
        questionnaire,
        anonymous=wave.is_anonymous,
        release=release,
        threshold=threshold,
    )


def parse_rules(values: Iterable[str]) -> tuple[str, ...]:
    """The known rules among ``values`` (a form's ticks), in ``rules.RULES`` order."""
    chosen = set(values)
    return tuple(rule for rule in rules.RULES if rule in chosen)


# -- exclusion ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Exclusion:
    """What was asked to be left out, and what is: ``left_out`` is empty when not offered."""

    asked: tuple[str, ...] = ()
    left_out: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    offered: bool = True
    #: Why exclusion is not offered, in a sentence; "" when it is.
    refusal: str = ""

    @property
    def applied(self) -> tuple[str, ...]:
        return self.asked if self.offered else ()

    @property
    def count(self) -> int:
        return len(self.left_out)

    def sentence(self) -> str:
        """What a page or a file says about it: how many were left out, by which rule."""
        if not self.applied:
            return self.refusal or EVERY_RESPONSE
        words = " or ".join(rules.RULES[rule].split(" (")[0].lower() for rule in self.applied)
        return (
            f"{self.count} response{'' if self.count == 1 else 's'} flagged for {words} "
            f"{'is' if self.count == 1 else 'are'} left out ("
            + "; ".join(rules.RULES[rule] for rule in self.applied)
            + "). Nothing is deleted: every response stays in the data."
        )

    def keep(self, answers: pd.DataFrame) -> pd.DataFrame:
        """The long answer table without the responses left out."""
        if not self.count:
            return answers
        return answers[~answers["response_id"].isin(self.left_out)].reset_index(drop=True)


def decide_exclusion(
    flags: pd.DataFrame,
    asked: tuple[str, ...],
    *,
    release: Release | None,
    threshold: int,
) -> Exclusion:
    """Leave out the responses ``asked`` rules flag, when that is safe (module docstring).

    ``release`` is the programme's decision for the wave (None for the full data, which
    the programme team may read whole: exclusion is then always offered).
    """
    if not asked:
        return Exclusion()
    left_out = rules.excluded(flags, asked)
    if release is None or not len(left_out):
        return Exclusion(asked, left_out)
    offered = offered_rules(flags, release=release, threshold=threshold)
    if set(asked) <= set(offered):
        return Exclusion(asked, left_out)
    refused = [rules.RULES[rule].split(" (")[0].lower() for rule in asked if rule not in offered]
    refusal = (
        f"Leaving out responses flagged for {' or '.join(refused)} is not offered for this "
        f"wave: in at least one group the responses it would leave out, or those it would "
        f"keep, number fewer than {threshold}, alone or beside the other rules offered. The "
        f"results with and without them could then be subtracted to show the answers of "
        f"fewer than {threshold} people. Every response is included."
    )
    return Exclusion(asked, pd.Index([], dtype=object), offered=False, refusal=refusal)


def offered_rules(flags: pd.DataFrame, *, release: Release, threshold: int) -> tuple[str, ...]:
    """The rules whose exclusion is safe together, taken in the order of ``rules.RULES``.

    A person can ask for any set of the offered rules, and two sets differ by the
    responses of some pattern of flags (speeding but not partial, say). So a rule is
    offered only if, with it and the rules already offered, every pattern of every group
    (none of the flags included) numbers 0 or at least the threshold: no two pages, nor
    a page with and without exclusion, then differ by fewer people.
    """
    labels = release.labels.reindex(flags.index)
    fields = list(fields_of(release.real))
    classes = labels[fields].fillna("").astype(str).agg("\x1f".join, axis=1)
    offered: list[str] = []
    for rule in rules.RULES:
        trial = [*offered, rule]
        patterns = flags[trial].fillna(0).astype(int).astype(str).agg("".join, axis=1)
        sizes = (
            pd.DataFrame({"class": classes, "pattern": patterns})
            .groupby(["class", "pattern"])
            .size()
        )
        if not (sizes < threshold).any():
            offered.append(rule)
    return tuple(offered)


# -- the report --------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRow:
    team: str
    responses: int
    counts: dict[str, int]
    hidden: bool = False


@dataclass(frozen=True)
class Report:
    """What the data-quality page and the pack's report show of one wave."""

    responses: int
    timed: int
    counts: dict[str, int]
    median_seconds: float | None
    teams: list[TeamRow]
    hidden_teams: int
    bands: list[tuple[str, int]]
    skipped: list[tuple[str, str, int, int]]  # answer id, question, skipped, shown to
    has_batteries: bool
    threshold: int
    suppressed: bool
    #: A suppressed report of a wave with fewer responses than the threshold shows no number.
    too_few: bool = False


def _count(column: pd.Series) -> int:
    return int(column.fillna(0).astype(int).sum())


def report(
    flags: pd.DataFrame,
    answers: pd.DataFrame,
    questionnaire: Questionnaire,
    *,
    anonymous: bool,
    release: Release | None,
    threshold: int,
) -> Report:
    """The data-quality report of a wave: counts per flag, per team (teams the decision
    does not release whole, or with fewer than the threshold, are hidden), the times in
    bands, and the items most often skipped."""
    if release is not None and len(flags) < threshold:
        return Report(len(flags), 0, {}, None, [], 0, [], [], False, threshold, True, too_few=True)
    people = answers.drop_duplicates("response_id").set_index("response_id")
    counts = {name: _count(flags[name]) for name in COUNTED}
    teams_of = group_names(people["team"].reindex(flags.index))
    pooled = release.pooled_groups("team") if release is not None else frozenset()
    teams, hidden = [], 0
    for team in sorted(teams_of.unique()):
        members = flags[(teams_of == team).to_numpy()]
        small = release is not None and (team in pooled or len(members) < threshold)
        hidden += small
        teams.append(
            TeamRow(
                team if not small else "",
                len(members),
                {name: _count(members[name]) for name in COUNTED},
                hidden=small,
            )
        )
    teams = [row for row in teams if not row.hidden]
    band_counts = flags["time_band"].dropna().astype(int).value_counts()
    bands = [(band_label(code), int(band_counts.get(code, 0))) for code in TIME_BANDS]
    times = pd.DataFrame({"seconds": flags["seconds"], "time_band": flags["time_band"]})
    return Report(
        responses=len(flags),
        timed=int(flags["time_band"].notna().sum()),
        counts=counts,
        median_seconds=rules.median_time(times, anonymous=anonymous),
        teams=teams,
        hidden_teams=hidden,
        bands=bands,
        skipped=most_skipped(
            answers, questionnaire, at_least=threshold if release is not None else 1
        ),
        has_batteries=bool(rules.batteries(questionnaire)),
        threshold=threshold,
        suppressed=release is not None,
    )


def most_skipped(
    answers: pd.DataFrame,
    questionnaire: Questionnaire,
    limit: int = MOST_SKIPPED,
    at_least: int = 1,
) -> list[tuple[str, str, int, int]]:
    """The items most often left unanswered: (answer id, question, skipped, shown to).

    An item shown to fewer than ``at_least`` people (a follow-up question, say) is left
    out: how many it was shown to tells how many gave the answer that opens it.
    """
    counted = rules.counted_answers(answers, questionnaire)
    if counted.empty:
        return []
    table = counted.groupby("answer_id")["answered"].agg(["size", "sum"])
    table["skipped"] = table["size"] - table["sum"]
    table = table[(table["skipped"] > 0) & (table["size"] >= at_least)]
    table["share"] = table["skipped"] / table["size"]
    table = table.reset_index().sort_values(["share", "answer_id"], ascending=[False, True])
    texts = {}
    for item in questionnaire.items():
        texts[item.id] = item.text
        for row in item.rows:
            texts[row.id] = question_and_row(item.text, row.text)
    return [
        (key, texts.get(key, key), int(skipped), int(size))
        for key, skipped, size in table[["answer_id", "skipped", "size"]]
        .head(limit)
        .itertuples(index=False)
    ]


def report_frame(result: Report) -> pd.DataFrame:
    """The report as one table (the pack's CSV): section, what, responses, count."""
    rows = [("responses", "Responses", result.responses, result.responses)]
    if result.too_few:
        return pd.DataFrame(rows, columns=["section", "what", "of", "count"]).astype(
            {"of": "Int64", "count": "Int64"}
        )
    rows.append(("timed", "Responses timed", result.responses, result.timed))
    rows += [
        ("flag", label, result.responses, result.counts[name]) for name, label in COUNTED.items()
    ]
    for team in result.teams:
        rows += [
            ("team", f"{team.team}: {label}", team.responses, team.counts[name])
            for name, label in COUNTED.items()
        ]
    if result.hidden_teams:
        rows.append(("team", "Teams hidden (too few to show)", None, result.hidden_teams))
    rows += [("time", label, result.timed, count) for label, count in result.bands]
    rows += [
        ("skipped", f"{key}: {text}", shown, count) for key, text, count, shown in result.skipped
    ]
    return pd.DataFrame(rows, columns=["section", "what", "of", "count"]).astype(
        {"of": "Int64", "count": "Int64"}
    )
