"""The data-quality page of a wave: flags counted, per team, times in bands, items skipped."""

from flask import Blueprint, g, render_template, request

from surveyapp.db import get_session
from surveyapp.quality import operations as quality
from surveyapp.quality import rules
from surveyapp.quality.page import minutes, rules_said
from surveyapp.scoring import disclosure
from surveyapp.staff import access
from surveyapp.web.context import version_questionnaire
from surveyapp.web.permissions import requires, wave_or_404

bp = Blueprint("quality", __name__, url_prefix="/admin", template_folder="templates")


@bp.get("/waves/<int:wave_id>/quality")
@requires("see_results")
def wave_quality(wave_id: int):
    """Show a wave's data-quality report; small teams hidden unless full data is asked for."""
    wave = wave_or_404(wave_id)
    questionnaire = version_questionnaire(wave.questionnaire_version)
    may_see_full_data = access.can(g.user, "see_small_groups")
    for_evaluator = not (request.args.get("full") == "1" and may_see_full_data)
    threshold = wave.programme.reporting_threshold
    release = (
        disclosure.programme_release(get_session(), wave, threshold) if for_evaluator else None
    )
    result = quality.wave_report(
        get_session(), wave, questionnaire, release=release, threshold=threshold
    )
    return render_template(
        "quality/wave_quality.html",
        wave=wave,
        report=result,
        counted=quality.COUNTED,
        rules_said=rules_said(),
        median=minutes(result.median_seconds),
        min_items=rules.STRAIGHTLINE_MIN_ITEMS,
        for_evaluator=for_evaluator,
        may_see_full_data=may_see_full_data,
    )
