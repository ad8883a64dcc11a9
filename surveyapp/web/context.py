"""What views read from the application and the request: the clock, the questionnaires,
the study's time zone, the page number asked for; and what every area's views write: an
audit entry for the signed-in person, a CSV download."""

from datetime import datetime
from pathlib import Path

from flask import Response, abort, current_app, g, request

from surveyapp.audit import operations as audit
from surveyapp.db import get_session
from surveyapp.questionnaires import Catalogue, Questionnaire, load_all, questionnaire_files

#: Rows per page of every list.
PER_PAGE = 50


def now() -> datetime:
    """Return the current UTC time from the configured clock."""
    return current_app.config["CLOCK"]()


def get_catalogue() -> Catalogue:
    """Return the questionnaire files as last read, reading again when any file changed.

    Checking modification times costs a few stat calls, so every worker
    process sees an edited file without a restart.
    """
    folder = Path(current_app.config["QUESTIONNAIRE_DIR"])
    signature = tuple(
        (path.name, stat.st_mtime_ns, stat.st_size)
        for path in questionnaire_files([folder])
        for stat in [path.stat()]
    )
    cached = current_app.extensions.get("surveyapp.questionnaires.catalogue")
    if cached is None or cached[0] != signature:
        cached = (signature, load_all(folder))
        current_app.extensions["surveyapp.questionnaires.catalogue"] = cached
    return cached[1]


def get_questionnaire(key: str) -> Questionnaire:
    """Return a usable questionnaire by key, or answer 404.

    A questionnaire with no file in the folder (uploaded or written in the browser) is its
    newest stored version.
    """
    questionnaire = get_catalogue().questionnaires.get(key)
    if questionnaire is None:
        from surveyapp.questionnaires.catalogue import latest_versions

        version = latest_versions(get_session()).get(key)
        if version is None:
            abort(404)
        questionnaire = version_questionnaire(version)
    return questionnaire


def version_questionnaire(version) -> Questionnaire:
    """Return the questionnaire a stored version holds, parsed once per process.

    Versions never change, so the cache never goes stale.
    """
    from surveyapp.questionnaires.catalogue import questionnaire_of

    cache = current_app.extensions.setdefault("surveyapp.versions", {})
    if version.id not in cache:
        cache[version.id] = questionnaire_of(version)
    return cache[version.id]


def wave_questionnaire(wave) -> Questionnaire:
    """Return a wave's questionnaire without loading the version's text once it is cached."""
    cache = current_app.extensions.setdefault("surveyapp.versions", {})
    cached = cache.get(wave.questionnaire_version_id)
    return cached if cached is not None else version_questionnaire(wave.questionnaire_version)


def study_zone() -> str:
    """The study's time zone (``STUDY_TIMEZONE``), in which staff type and read times."""
    return current_app.config["STUDY_TIMEZONE"]


def page_number() -> int:
    """The page of a list asked for in ``?page=``: 1 when absent or not a whole number."""
    return max(request.args.get("page", 1, type=int), 1)


def audit_action(action: str, summary: str, *, programme_id=None, kind="", number="") -> None:
    """Add an entry to the audit trail for the signed-in person, committed with the change
    it describes."""
    audit.record(
        get_session(),
        action=action,
        summary=summary,
        actor=g.user,
        programme_id=programme_id,
        object_type=kind,
        object_id=number,
        now=now(),
    )


def csv_download(text: str, filename: str) -> Response:
    """A CSV file to save, with a byte order mark so Excel reads names such as Siân."""
    return Response(
        "\ufeff" + text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
