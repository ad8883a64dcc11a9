"""The one place that reads and writes htmx headers."""

from flask import Response, make_response, render_template, request


def wants_fragment() -> bool:
    """True when htmx asks for a piece of a page.

    Boosted navigation and history restores swap whole pages, so they get
    the full template, like a browser without JavaScript.
    """
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_fragment(page: str, fragment: str, status: int = 200, **context) -> Response:
    """Render ``fragment`` for htmx partial requests, else ``page`` (which includes it)."""
    template = fragment if wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")  # same URL, two bodies: keep caches honest
    return response


def hx_trigger(response: Response, event: str) -> Response:
    """Ask htmx to fire ``event`` on the body once the response is swapped in."""
    response.headers["HX-Trigger"] = event
    return response
