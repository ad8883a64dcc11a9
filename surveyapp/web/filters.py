"""Jinja filters: dates shown in the study's time zone, British style."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app


def local_time(value: datetime | None) -> str:
    """Show a stored UTC time in the study's zone, for example "23 November 2026, 2:05pm"."""
    if value is None:
        return "—"
    zone = ZoneInfo(current_app.config["STUDY_TIMEZONE"])
    local = value.replace(tzinfo=UTC).astimezone(zone)
    hour = local.strftime("%I").lstrip("0")
    return f"{local.day} {local:%B %Y}, {hour}:{local:%M}{local:%p}".replace("AM", "am").replace(
        "PM", "pm"
    )


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time)
    app.add_template_filter(combine_args)
    app.add_template_global(personal_link)


def personal_link(token: str) -> str:
    """A personal link as the emails write it: from BASE_URL, never from the request's Host."""
    from flask import current_app

    from surveyapp.people.links import personal_link as link_from

    return link_from(current_app.config["BASE_URL"], token)


def combine_args(args: dict, **changes) -> dict:
    """Return query arguments with some changed, dropping empty ones (for paging links)."""
    return {key: value for key, value in {**args, **changes}.items() if value not in ("", None)}
