"""Results of a wave: scales, items, the culture profile, change between waves, charts, exports."""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from surveyapp import scoring
from surveyapp.db import get_session
from surveyapp.exports import (
    FORMATS,
    LAYOUTS,
    STAGES,
    ExportTooLarge,
    NotReleasable,
    check_choice,
    export_wave,
    formats_for,
    jobs,
)
from surveyapp.models import (
    Programme,
    Wave,
)
from surveyapp.quality import operations as quality
from surveyapp.questionnaires.answers import question_and_row
from surveyapp.respond import release
from surveyapp.results import operations as results
from surveyapp.scoring import disclosure
from surveyapp.scoring.suppression import NO_RESPONSES
from surveyapp.staff import access
from surveyapp.waves import dashboard
from surveyapp.web.context import audit_action, now, version_questionnaire
from surveyapp.web.htmx import render_page_or_fragment
from surveyapp.web.permissions import (
    ask_for_password_again,
    id_arg,
    programme_or_404,
    requires,
    wave_or_404,
)

bp = Blueprint("results", __name__, url_prefix="/admin", template_folder="templates")


def _for_evaluator() -> bool:
    """Suppress small groups unless someone allowed to asked for the full data.

    An evaluator asking for full data still gets suppressed results: the
    reporting threshold is not theirs to lift.
    """
    return not (request.args.get("full") == "1" and access.can(g.user, "see_small_groups"))


def _release(wave: Wave, for_evaluator: bool):
    """The programme's disclosure decision for this wave, when small groups are protected."""
    if not for_evaluator:
        return None
    return disclosure.programme_release(get_session(), wave, wave.programme.reporting_threshold)


def _wave_results(wave_id: int):
    wave = wave_or_404(wave_id)
    return wave, version_questionnaire(wave.questionnaire_version)


def _release_note(wave: Wave) -> str:
    """What an anonymous wave's results hold back and when that changes; "" otherwise."""
    if not wave.is_anonymous:
        return ""
    status = release.release_status(get_session(), wave)
    return release.release_sentence(status, closed=wave.closes_at <= now())


def _asked_exclusion() -> tuple[str, ...]:
    """The data-quality rules ticked on the page (``?exclude=speeding&exclude=…``)."""
    return quality.parse_rules(request.args.getlist("exclude"))


def _answers(wave: Wave, questionnaire, for_evaluator: bool):
    """The wave's answers, less the flagged responses asked to be left out when that is
    safe beside the page without them (``quality.decide_exclusion``); and the decision."""
    answers = scoring.load_answers(get_session(), wave)
    asked = _asked_exclusion()
    if not asked:
        return answers, quality.Exclusion()
    flags = quality.wave_flags(get_session(), wave, questionnaire, answers)
    exclusion = quality.decide_exclusion(
        flags,
        asked,
        release=_release(wave, for_evaluator),
        threshold=wave.programme.reporting_threshold,
    )
    return exclusion.keep(answers), exclusion


def _has_culture_items(questionnaire) -> bool:
    return any(item.type == "bipolar" for item in questionnaire.items())


@bp.get("/waves/<int:wave_id>/results")
@requires("see_results")
def results_scales(wave_id: int):
    """Show a wave's scale scores: n, mean, sd and median, overall and by a group field."""
    return _scales_page(wave_or_404(wave_id))


def _scales_page(wave: Wave, export_problem: str = "", status: int = 200):
    """The results page of a wave; with ``export_problem``, the download form's error summary."""
    questionnaire = version_questionnaire(wave.questionnaire_version)
    by = request.args.get("by", "team")
    by = by if by in scoring.GROUP_FIELDS else "team"
    for_evaluator = _for_evaluator()
    answers, exclusion = _answers(wave, questionnaire, for_evaluator)
    scores = scoring.scores_table(answers, questionnaire)
    summary = scoring.summarise_scales(
        scores,
        questionnaire,
        by=by,
        for_evaluator=for_evaluator,
        threshold=wave.programme.reporting_threshold,
        release=_release(wave, for_evaluator),
    )
    layout = request.args.get("layout", "wide")
    return render_template(
        "results/results_scales.html",
        wave=wave,
        by=by,
        breakdowns=dashboard.BREAKDOWNS,
        tables=results.scale_tables(summary.to_dict("records")),
        charts={
            record["scale"]: results.scale_chart(record)
            for record in summary.to_dict("records")
            if record["is_total"]
        },
        for_evaluator=for_evaluator,
        may_see_full_data=access.can(g.user, "see_small_groups"),
        threshold=wave.programme.reporting_threshold,
        formats=formats_for("wide"),
        codebook_formats=formats_for("codebook"),
        has_culture=_has_culture_items(questionnaire),
        release_note=_release_note(wave),
        exclusion=exclusion,
        rules=quality.rules.RULES,
        # The error summary links to the form the problem is about.
        export_problems=(
            [("codebook-format-csv" if layout == "codebook" else "format-csv", export_problem)]
            if export_problem
            else []
        ),
    ), status


@bp.get("/waves/<int:wave_id>/export")
@requires("see_results")
def results_export(wave_id: int):
    """Download a wave's answers as CSV, Excel or SPSS, suppressed unless allowed otherwise.

    A file that cannot be made (a format the layout has not, a wave too small to
    release) shows the results page again with the reason in an error summary.
    """
    wave = wave_or_404(wave_id)
    file_format = request.args.get("format", "csv")
    layout = request.args.get("layout", "wide")
    if file_format not in FORMATS or layout not in LAYOUTS:
        abort(400)
    for_evaluator = _for_evaluator()
    if not for_evaluator and (asked := ask_for_password_again(request.full_path)) is not None:
        return asked  # the full data: only with the password given lately
    try:
        check_choice(file_format, layout)
    except ValueError as problem:  # the codebook as SPSS, which has no rows to label
        return _scales_page(wave, str(problem), 422)
    exclude = _asked_exclusion()
    if jobs.needs_background(get_session(), wave):
        job, new = jobs.find_or_create(
            _job_store(),
            now(),
            owner=g.user.id,
            wave_id=wave.id,
            file_format=file_format,
            layout=layout,
            for_evaluator=for_evaluator,
            threshold=wave.programme.reporting_threshold,
            exclude=",".join(exclude),
        )
        if new:
            make_session = current_app.extensions["surveyapp.sessionmaker"]
            jobs.start(_job_store(), job, make_session, current_app.config["CLOCK"])
        elif (job.wave_id, job.file_format, job.layout) != (wave.id, file_format, layout):
            flash(
                "Your other export is still being made. When it is ready, ask for this one again.",
                "info",
            )
        return redirect(url_for(".results_export_progress", wave_id=wave.id, job=job.id), code=303)
    try:
        exported = export_wave(
            get_session(),
            wave,
            file_format=file_format,
            layout=layout,
            for_evaluator=for_evaluator,
            threshold=wave.programme.reporting_threshold,
            exclude=exclude,
        )
    except (ExportTooLarge, NotReleasable) as problem:
        return _scales_page(wave, str(problem), 422)
    _audit_export(wave, file_format, layout, for_evaluator)
    get_session().commit()
    return Response(
        exported.content,
        content_type=exported.mimetype,  # already carries its charset
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )


@bp.get("/waves/<int:wave_id>/results/culture")
@requires("see_results")
def results_culture(wave_id: int):
    """Show a team's culture profile against the whole organisation, as a chart and a table."""
    wave, questionnaire = _wave_results(wave_id)
    if not _has_culture_items(questionnaire):
        abort(404)
    for_evaluator = _for_evaluator()
    answers, exclusion = _answers(wave, questionnaire, for_evaluator)
    profile = scoring.culture_profile(
        answers,
        questionnaire,
        by="team",
        for_evaluator=for_evaluator,
        threshold=wave.programme.reporting_threshold,
        release=_release(wave, for_evaluator),
    )
    team = request.args.get("team", "") or scoring.ALL_RESPONDENTS
    rows = profile.to_dict("records")
    teams = sorted({row["group"] for row in rows if not row["is_total"]})
    if team != scoring.ALL_RESPONDENTS and team not in teams:
        abort(404)
    chosen = [row for row in rows if row["group"] == team]
    everyone = [row for row in rows if row["is_total"]]
    hidden_note = next((row["note"] for row in chosen if row["hidden"]), "")
    chart = None
    leaning = {"positive": [], "negative": []}
    if not hidden_note and any(row["n"] for row in chosen):
        chart = results.culture_chart(chosen, team, everyone)
        leaning = {
            side: table.to_dict("records")
            for side, table in scoring.leaning_items(profile, team).items()
        }
    download = request.args.get("download")
    if download is not None:
        if download not in CHART_FORMATS:
            abort(400)
        if chart is None:
            abort(404)
        svg = render_template("results/_culture_chart.html", chart=chart, standalone=True)
        return _chart_file(svg, f"culture_wave{wave.id}", download)
    return render_template(
        "results/results_culture.html",
        wave=wave,
        team=team,
        teams=teams,
        all_respondents=scoring.ALL_RESPONDENTS,
        hidden_note=hidden_note,
        no_responses=NO_RESPONSES,
        chart=chart,
        leaning=leaning,
        release_note=_release_note(wave),
        exclusion=exclusion,
        rules=quality.rules.RULES,
        for_evaluator=for_evaluator,
        may_see_full_data=access.can(g.user, "see_small_groups"),
        number=results.number,
    )


#: Breakdowns the change page offers: each person's group at the first wave.
CHANGE_BREAKDOWNS = {"team": "Team", "role": "Role", "region": "Region"}


#: Item types whose answers the items page draws as a distribution.
DISTRIBUTION_TYPES = ("likert", "bipolar", "single_choice", "matrix")


def _programme_wave(programme: Programme, name: str, default: Wave | None) -> Wave | None:
    """The wave named by ``?<name>=``, which must belong to the programme; else ``default``."""
    if not request.args.get(name):
        return default
    wave_id = id_arg(name)
    if wave_id is None:
        abort(404)
    wave = get_session().get(Wave, wave_id)
    if wave is None or wave.programme_id != programme.id:
        abort(404)
    return wave


@bp.get("/programmes/<int:programme_id>/change")
@requires("see_results")
def results_change(programme_id: int):
    """Show the change in each scale for the people who answered two waves."""
    programme = programme_or_404(programme_id)
    identified = sorted(
        (wave for wave in programme.waves if not wave.is_anonymous),
        key=lambda wave: (wave.opens_at, wave.id),
    )
    second = _programme_wave(programme, "second", identified[1] if len(identified) > 1 else None)
    # The earliest other wave, so that a link naming only the second wave pairs it with one.
    others = [wave for wave in identified if second is None or wave.id != second.id]
    first = _programme_wave(programme, "first", others[0] if others else None)
    by = request.args.get("by") or None
    by = by if by in CHANGE_BREAKDOWNS else None
    for_evaluator = _for_evaluator()
    tables, problem = [], ""
    if first is None or second is None:
        problem = "Change over time needs two waves whose answers keep the person's ID number."
    else:
        try:
            change = scoring.paired_change(
                get_session(),
                first,
                second,
                by=by,
                for_evaluator=for_evaluator,
                threshold=programme.reporting_threshold,
            )
        except scoring.CannotPair as cannot:
            problem = str(cannot)
        else:
            tables = results.change_tables(
                change.to_dict("records"),
                threshold=programme.reporting_threshold if for_evaluator else None,
            )
    return render_template(
        "results/results_change.html",
        programme=programme,
        waves=identified,
        first=first,
        second=second,
        by=by,
        breakdowns=CHANGE_BREAKDOWNS,
        tables=tables,
        problem=problem,
        # While the second wave is open, people without a second score may still answer.
        still_open=second is not None and now() < second.closes_at,
        for_evaluator=for_evaluator,
        may_see_full_data=access.can(g.user, "see_small_groups"),
        threshold=programme.reporting_threshold,
    )


@bp.get("/waves/<int:wave_id>/results/items")
@requires("see_results")
def results_items(wave_id: int):
    """Show the distribution of answers to each closed item, one section per questionnaire page."""
    wave, questionnaire = _wave_results(wave_id)
    for_evaluator = _for_evaluator()
    answers, exclusion = _answers(wave, questionnaire, for_evaluator)
    sections = []
    for page in questionnaire.pages:
        charts = [
            _item_chart(answers, questionnaire, wave, answer_id, text, for_evaluator)
            for answer_id, text in _drawn_items(page.items).items()
        ]
        if charts:
            sections.append({"id": page.id, "title": page.title, "charts": charts})
    return render_template(
        "results/results_items.html",
        wave=wave,
        sections=sections,
        release_note=_release_note(wave),
        exclusion=exclusion,
        rules=quality.rules.RULES,
        for_evaluator=for_evaluator,
        may_see_full_data=access.can(g.user, "see_small_groups"),
        threshold=wave.programme.reporting_threshold,
    )


def _drawn_items(items) -> dict[str, str]:
    """The answer ids the items page draws, with their question text, in order."""
    drawn = {}
    for item in items:
        if item.type not in DISTRIBUTION_TYPES:
            continue
        question = item.text or f"{item.left} / {item.right}"
        for answer_id in item.answer_ids():
            if answer_id == item.other_id:
                continue
            if item.type == "matrix":
                row = next(row for row in item.rows if row.id == answer_id)
                drawn[answer_id] = question_and_row(item.text, row.text)
            else:
                drawn[answer_id] = question
    return drawn


def _item_chart(answers, questionnaire, wave: Wave, answer_id: str, text: str, for_evaluator):
    distribution = scoring.item_distribution(
        answers,
        questionnaire,
        answer_id,
        for_evaluator=for_evaluator,
        threshold=wave.programme.reporting_threshold,
    )
    records = [row for row in distribution.to_dict("records") if row["is_total"]]
    return results.item_chart(answer_id, text, records)


#: The files a chart downloads as.
CHART_FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def _chart_file(svg: str, name: str, file_format: str) -> Response:
    """The chart as a download: the page's own SVG, or the same drawing as a PNG."""
    content = svg if file_format == "svg" else results.png_of(svg)
    return Response(
        content,
        mimetype=CHART_FORMATS[file_format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{file_format}"'},
    )


@bp.get("/waves/<int:wave_id>/results/chart")
@requires("see_results")
def results_chart(wave_id: int):
    """Download one chart of the results pages (``?scale=`` or ``?item=``) as SVG or PNG.

    The chart is made as the page makes it, suppressed the same way: a group or
    item too small to show has no chart to download.
    """
    wave, questionnaire = _wave_results(wave_id)
    file_format = request.args.get("format", "svg")
    scale_id, answer_id = request.args.get("scale"), request.args.get("item")
    if file_format not in CHART_FORMATS or bool(scale_id) == bool(answer_id):
        abort(400)
    for_evaluator = _for_evaluator()
    answers, _exclusion = _answers(wave, questionnaire, for_evaluator)
    if scale_id:
        if scale_id not in {scale.id for scale in questionnaire.scales}:
            abort(404)
        summary = scoring.summarise_scales(
            scoring.scores_table(answers, questionnaire),
            questionnaire,
            for_evaluator=for_evaluator,
            threshold=wave.programme.reporting_threshold,
        )
        record = next(
            row
            for row in summary.to_dict("records")
            if row["scale"] == scale_id and row["is_total"]
        )
        chart = results.scale_chart(record)
        name = f"wave{wave.id}_scale_{scale_id}"
    else:
        drawn = _drawn_items(questionnaire.items())
        if answer_id not in drawn:
            abort(404)
        chart = _item_chart(
            answers, questionnaire, wave, answer_id, drawn[answer_id], for_evaluator
        )
        name = f"wave{wave.id}_item_{answer_id}"
    if chart.hidden or not chart.n:
        abort(404)
    svg = render_template("results/_bar_chart.html", chart=chart, standalone=True)
    return _chart_file(svg, name, file_format)


def _audit_export(wave: Wave, file_format: str, layout: str, for_evaluator: bool) -> None:
    audit_action(
        "export.download",
        f"“{wave.label}” exported as {file_format}, {layout}, "
        + ("small groups hidden" if for_evaluator else "full data"),
        programme_id=wave.programme_id,
        kind="wave",
        number=wave.id,
    )


def _job_store() -> jobs.JobStore:
    return jobs.store_for(current_app.config, current_app.instance_path)


def _own_job(wave: Wave):
    """The job named by ``?job=``: the signed-in person's own export of this wave, or None.

    Anyone else's job, an old one, or one already downloaded is None alike. A job
    of full data needs the right to see small groups still.
    """
    job_id = request.args.get("job")
    if not job_id:
        abort(400)
    store = _job_store()
    store.remove_expired(now())
    job = store.get(job_id)
    if job is None or job.owner != g.user.id or job.wave_id != wave.id:
        return None
    if not job.for_evaluator and not access.can(g.user, "see_small_groups"):
        return None
    return job


def _export_gone(wave: Wave):
    return render_template("results/results_export_gone.html", wave=wave), 410


@bp.get("/waves/<int:wave_id>/export/progress")
@requires("see_results")
def results_export_progress(wave_id: int):
    """Show how far a background export has got; htmx asks again every second until done."""
    wave = wave_or_404(wave_id)
    job = _own_job(wave)
    if job is None:
        return _export_gone(wave)
    return render_page_or_fragment(
        "results/results_export_progress.html",
        "results/_export_progress.html",
        wave=wave,
        job=job,
        stages=len(STAGES),
        ready=jobs.READY,
        failed=jobs.FAILED,
        max_age_minutes=int(jobs.MAX_AGE.total_seconds() // 60),
    )


@bp.get("/waves/<int:wave_id>/export/file")
@requires("see_results")
def results_export_file(wave_id: int):
    """Hand over a background export's file, once; it is then removed."""
    wave = wave_or_404(wave_id)
    job = _own_job(wave)
    if job is None:
        return _export_gone(wave)
    if job.state != jobs.READY:
        return redirect(url_for(".results_export_progress", wave_id=wave.id, job=job.id), 303)
    content = _job_store().take(job)
    if content is None:  # downloaded a moment ago, in another tab
        return _export_gone(wave)
    _audit_export(wave, job.file_format, job.layout, job.for_evaluator)
    get_session().commit()
    return Response(
        content,
        content_type=job.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{job.filename}"'},
    )
