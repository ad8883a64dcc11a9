"""The views' side of ``surveyapp.staff.access``: a decorator per capability, and look-ups
that answer 404 for anything in a programme the signed-in user may not see."""

import functools

from flask import abort, current_app, g, request

from surveyapp.auth.views import (  # noqa: F401 (offered to every area's views)
    ask_for_password_again,
    end_other_sessions,
    login_required,
)
from surveyapp.db import get_session
from surveyapp.models import Participant, Programme, Wave
from surveyapp.staff import access


def requires(capability: str):
    """Allow only signed-in users whose role has ``capability``; others get 403."""
    if capability not in access.PERMISSIONS:
        raise KeyError(capability)

    def decorator(view):
        @functools.wraps(view)
        def wrapped(**kwargs):
            if not access.can(g.user, capability):
                abort(403)
            return view(**kwargs)

        wrapped.capability = capability
        return login_required(wrapped)

    return decorator


def can(capability: str) -> bool:
    """For templates: whether to offer a link or button at all."""
    return access.can(g.get("user"), capability)


def may_visit(endpoint: str) -> bool:
    """For templates: whether the signed-in user may open the page of ``endpoint``."""
    view = current_app.view_functions.get(endpoint)
    capability = getattr(view, "capability", None)
    return capability is None or can(capability)


#: The largest id a database integer column holds, as the ``<int:...>`` URL converter allows.
MAX_ID = 2**31 - 1


def id_arg(name: str) -> int | None:
    """An id given in the query string (``?first=12``): None when absent, not a whole
    number or beyond what the database holds (such an id names nothing)."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID else None


def programme_or_404(programme_id: int) -> Programme:
    programme = get_session().get(Programme, programme_id)
    if programme is None or not access.may_see_programme(get_session(), g.user, programme.id):
        abort(404)
    return programme


def wave_or_404(wave_id: int) -> Wave:
    wave = get_session().get(Wave, wave_id)
    if wave is None or not access.may_see_programme(get_session(), g.user, wave.programme_id):
        abort(404)
    return wave


def participant_or_404(programme_id: int, participant_id: int) -> Participant:
    programme = programme_or_404(programme_id)
    participant = get_session().get(Participant, participant_id)
    if participant is None or participant.programme_id != programme.id:
        abort(404)
    return participant


def init_app(app) -> None:
    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["may_visit"] = may_visit
    app.jinja_env.globals["role_name"] = access.ROLE_NAMES.get
    app.jinja_env.globals["permission_roles"] = list(access.ROLE_NAMES)
    app.jinja_env.globals["permission_rows"] = access.permission_rows()
