"""The evaluation after each session (its rules and the waves they made), the attendance
bands, and outcomes by attendance."""

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from surveyapp.db import get_session
from surveyapp.evaluations import chart as charts
from surveyapp.evaluations import operations as evaluation
from surveyapp.evaluations.forms import BandsForm, RuleForm
from surveyapp.models import EvaluationRule, ProgrammeSession, Wave
from surveyapp.questionnaires import catalogue
from surveyapp.results.operations import png_of
from surveyapp.scoring import dose, outcomes
from surveyapp.staff import access
from surveyapp.web.context import audit_action, now
from surveyapp.web.forms import ActionForm
from surveyapp.web.permissions import id_arg, programme_or_404, requires

bp = Blueprint("evaluations", __name__, url_prefix="/admin", template_folder="templates")


def _kinds(programme) -> list[str]:
    return sorted(
        set(
            get_session().scalars(
                select(ProgrammeSession.kind).where(ProgrammeSession.programme_id == programme.id)
            )
        )
    )


def _rule_or_404(programme, rule_id: int) -> EvaluationRule:
    rule = get_session().get(EvaluationRule, rule_id)
    if rule is None or rule.programme_id != programme.id:
        abort(404)
    return rule


@bp.get("/programmes/<int:programme_id>/evaluations")
@requires("manage_sessions")
def evaluation_overview(programme_id: int):
    """The programme's rules, the waves they made, and its attendance bands."""
    programme = programme_or_404(programme_id)
    db = get_session()
    waves = db.scalars(
        select(Wave)
        .where(Wave.programme_id == programme.id, Wave.session_id.is_not(None))
        .order_by(Wave.opens_at, Wave.id)
    ).all()
    return render_template(
        "evaluations/overview.html",
        programme=programme,
        rules=evaluation.rules_of(db, programme),
        describe=evaluation.describe_rule,
        kind_name=evaluation.kind_name,
        waves=waves,
        bands=dose.programme_bands(db, programme),
        stop_form=ActionForm(),
    )


def _rule_form(programme, rule: EvaluationRule | None):
    db = get_session()
    form = RuleForm(obj=None)
    versions = sorted(catalogue.latest_versions(db).values(), key=lambda v: v.title)
    form.set_choices(versions, _kinds(programme))
    if request.method == "GET" and rule is not None:
        form.questionnaire_key.data = rule.questionnaire_key
        form.session_kind.data = rule.session_kind
        form.audience.data = rule.audience
        form.opens_after_hours.data = rule.opens_after_minutes // 60
        form.open_days.data = rule.open_days
        form.privacy.data = rule.privacy
        form.target_rate.data = rule.target_rate
        form.with_reminders.data = rule.with_reminders
    if form.validate_on_submit():
        try:
            saved = evaluation.save_rule(
                db,
                programme,
                questionnaire_key=form.questionnaire_key.data,
                session_kind=form.session_kind.data or "",
                audience=form.audience.data,
                opens_after_hours=form.opens_after_hours.data,
                open_days=form.open_days.data,
                privacy=form.privacy.data,
                target_rate=form.target_rate.data,
                with_reminders=form.with_reminders.data,
                now=now(),
                rule=rule,
            )
        except evaluation.RuleProblem as problem:
            db.rollback()
            getattr(form, problem.field or "questionnaire_key").errors.append(str(problem))
        else:
            audit_action(
                "evaluation_rule.change",
                f"Evaluation after each session {'changed' if rule else 'set'}: "
                f"{evaluation.describe_rule(saved)}",
                programme_id=programme.id,
                kind="evaluation rule",
                number=saved.id,
            )
            db.commit()
            flash(evaluation.describe_rule(saved))
            return redirect(url_for(".evaluation_overview", programme_id=programme.id), code=303)
    return render_template(
        "evaluations/rule_form.html", programme=programme, form=form, rule=rule
    ), (422 if form.errors else 200)


@bp.route("/programmes/<int:programme_id>/evaluations/rules/new", methods=["GET", "POST"])
@requires("manage_sessions")
def rule_new(programme_id: int):
    """Set the evaluation after each session: one wave a session, made automatically."""
    return _rule_form(programme_or_404(programme_id), None)


@bp.route("/programmes/<int:programme_id>/evaluations/rules/<int:rule_id>", methods=["GET", "POST"])
@requires("manage_sessions")
def rule_edit(programme_id: int, rule_id: int):
    """Change a rule; the waves it made already stay as they are."""
    programme = programme_or_404(programme_id)
    return _rule_form(programme, _rule_or_404(programme, rule_id))


@bp.post("/programmes/<int:programme_id>/evaluations/rules/<int:rule_id>/stop")
@requires("manage_sessions")
def rule_stop(programme_id: int, rule_id: int):
    """Stop a rule: it makes no more waves."""
    programme = programme_or_404(programme_id)
    rule = _rule_or_404(programme, rule_id)
    form = ActionForm()
    if form.validate_on_submit():
        evaluation.stop_rule(get_session(), rule, now=now())
        audit_action(
            "evaluation_rule.change",
            f"Evaluation after each session stopped: {evaluation.describe_rule(rule)}",
            programme_id=programme.id,
            kind="evaluation rule",
            number=rule.id,
        )
        get_session().commit()
        flash("The rule is stopped: it makes no more waves. The waves it made stay.")
    return redirect(url_for(".evaluation_overview", programme_id=programme.id), code=303)


@bp.route("/programmes/<int:programme_id>/evaluations/bands", methods=["GET", "POST"])
@requires("manage_sessions")
def bands_edit(programme_id: int):
    """The bands attendance and mentoring are read in: exports and outcomes by attendance."""
    programme = programme_or_404(programme_id)
    db = get_session()
    form = BandsForm()
    form.set_choices(_kinds(programme))
    stored = dose.bands_of(db, programme)
    if request.method == "GET":
        form.attendance.data = dose.bands_text(stored.attendance if stored else [])
        form.mentoring.data = dose.bands_text(stored.mentoring if stored else [])
        form.mentoring_kind.data = stored.mentoring_kind if stored else dose.MENTORING_KIND
    if form.validate_on_submit():
        try:
            attendance = dose.parse_bands(
                form.attendance.data, field="attendance", what="Attendance bands"
            )
            mentoring = dose.parse_bands(
                form.mentoring.data or "", field="mentoring", what="Mentoring bands"
            )
        except dose.BandProblem as problem:
            getattr(form, problem.field).errors.append(str(problem))
        else:
            dose.save_bands(
                db,
                programme,
                attendance=attendance,
                mentoring=mentoring,
                mentoring_kind=form.mentoring_kind.data or dose.MENTORING_KIND,
            )
            audit_action(
                "dose_bands.change",
                f"Attendance bands: {'; '.join(band[2] for band in attendance)}. Mentoring bands: "
                f"{'; '.join(band[2] for band in mentoring) or 'none'}",
                programme_id=programme.id,
                kind="programme",
                number=programme.id,
            )
            db.commit()
            flash("The attendance and mentoring bands are saved.")
            return redirect(url_for(".evaluation_overview", programme_id=programme.id), code=303)
    return render_template("evaluations/bands.html", programme=programme, form=form), (
        422 if form.errors else 200
    )


def _wave_arg(programme, name: str, default: Wave | None) -> Wave | None:
    """The wave named by ``?<name>=`` (of this programme, else 404); ``default`` when absent."""
    if name not in request.args:
        return default
    if not request.args[name]:
        return None
    wave_id = id_arg(name)
    wave = get_session().get(Wave, wave_id) if wave_id else None
    if wave is None or wave.programme_id != programme.id:
        abort(404)
    return wave


def _read_outcomes(programme):
    """The waves asked for and outcomes by attendance of them, or the reason they cannot be."""
    waves = sorted(programme.waves, key=lambda wave: (wave.session_id is not None, wave.opens_at))
    outcome_waves = [w for w in waves if not w.is_anonymous and w.session_id is None]
    endpoint = _wave_arg(programme, "end", outcome_waves[-1] if outcome_waves else None)
    others = [w for w in outcome_waves if endpoint is None or w.id != endpoint.id]
    baseline = _wave_arg(programme, "base", others[0] if others else None)
    by = request.args.get("by", "attendance")
    by = by if by in outcomes.BREAKDOWNS else "attendance"
    for_evaluator = not (request.args.get("full") == "1" and access.can(g.user, "see_small_groups"))
    read, problem = None, ""
    if endpoint is None:
        problem = "Outcomes by attendance need a wave whose answers keep the person's ID number."
    else:
        try:
            read = outcomes.outcomes_by_attendance(
                get_session(),
                programme,
                endpoint,
                baseline,
                by=by,
                for_evaluator=for_evaluator,
                threshold=programme.reporting_threshold,
            )
        except outcomes.CannotRead as cannot:
            problem = str(cannot)
    query = {
        "end": endpoint.id if endpoint else "",
        "base": baseline.id if baseline else "",
    }
    query |= {"by": by} | ({} if for_evaluator else {"full": "1"})
    return waves, endpoint, baseline, by, for_evaluator, read, problem, query


@bp.get("/programmes/<int:programme_id>/evaluations/outcomes")
@requires("see_results")
def outcomes_page(programme_id: int):
    """Outcomes by attendance: each scale at the endpoint and its change, by band."""
    programme = programme_or_404(programme_id)
    waves, endpoint, baseline, by, for_evaluator, read, problem, query = _read_outcomes(programme)
    measure = "change" if baseline is not None else "endpoint"
    drawn = {}
    for scale in read.scales if read else []:
        drawn[scale.scale] = charts.interval_chart(
            scale, measure if scale.has_change else "endpoint"
        )
    return render_template(
        "evaluations/outcomes.html",
        programme=programme,
        waves=waves,
        endpoint=endpoint,
        baseline=baseline,
        by=by,
        breakdowns=outcomes.BREAKDOWNS,
        outcome=read,
        problem=problem,
        charts=drawn,
        chart_measure=measure,
        query=query,
        for_evaluator=for_evaluator,
        threshold=programme.reporting_threshold,
    )


#: The files a chart downloads as.
CHART_FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


@bp.get("/programmes/<int:programme_id>/evaluations/outcomes/chart")
@requires("see_results")
def outcomes_chart(programme_id: int):
    """Download one scale's chart of outcomes by attendance as SVG or PNG, as the page draws it."""
    programme = programme_or_404(programme_id)
    _w, _e, _b, _by, _f, read, _problem, _q = _read_outcomes(programme)
    file_format = request.args.get("format", "svg")
    measure = request.args.get("measure", "endpoint")
    if (
        file_format not in CHART_FORMATS
        or measure not in charts.MEASURES
        or not request.args.get("scale")
    ):
        abort(400)
    scale = next(
        (s for s in (read.scales if read else []) if s.scale == request.args.get("scale")), None
    )
    if scale is None or (measure == "change" and not scale.has_change):
        abort(404)
    drawn = charts.interval_chart(scale, measure)
    svg = render_template("evaluations/_interval_chart.html", chart=drawn, standalone=True)
    content = svg if file_format == "svg" else png_of(svg)
    name = f"outcomes_by_attendance_{scale.scale}_{measure}.{file_format}"
    return Response(
        content,
        mimetype=CHART_FORMATS[file_format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
