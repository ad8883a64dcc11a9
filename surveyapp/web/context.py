"""What views read from the application: the clock and the questionnaires."""

from datetime import datetime
from pathlib import Path

from flask import abort, current_app

from surveyapp.questionnaires import Catalogue, Questionnaire, load_all, questionnaire_files


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
    cached = current_app.extensions.get("surveyapp.catalogue")
    if cached is None or cached[0] != signature:
        cached = (signature, load_all(folder))
        current_app.extensions["surveyapp.catalogue"] = cached
    return cached[1]


def get_questionnaire(key: str) -> Questionnaire:
    """Return a usable questionnaire by key, or answer 404."""
    questionnaire = get_catalogue().questionnaires.get(key)
    if questionnaire is None:
        abort(404)
    return questionnaire


def version_questionnaire(version) -> Questionnaire:
    """Return the questionnaire a stored version holds, parsed once per process.

    Versions never change, so the cache never goes stale.
    """
    from surveyapp.catalogue import questionnaire_of

    cache = current_app.extensions.setdefault("surveyapp.versions", {})
    if version.id not in cache:
        cache[version.id] = questionnaire_of(version)
    return cache[version.id]


def wave_questionnaire(wave) -> Questionnaire:
    """Return a wave's questionnaire without loading the version's text once it is cached."""
    cache = current_app.extensions.setdefault("surveyapp.versions", {})
    cached = cache.get(wave.questionnaire_version_id)
    return cached if cached is not None else version_questionnaire(wave.questionnaire_version)
