"""One place decides whether a request gets a whole page or a fragment."""

from typing import Any

from flask import make_response, render_template, request
from flask.wrappers import Response
from jinja2_fragments.flask import render_blocks


def wants_fragment() -> bool:
    """A fragment only for htmx requests that are neither boosted navigation nor
    a history restore: both of those replace the whole page."""
    h = request.htmx
    return bool(h) and not h.boosted and not h.history_restore_request


def render(
    template: str, blocks: str | list[str] | None = None, status: int = 200, **context: Any
) -> Response:
    """Render the page, or only ``blocks`` of it for an htmx request that wants a fragment."""
    if blocks and wants_fragment():
        names = [blocks] if isinstance(blocks, str) else blocks
        body = render_blocks(template, names, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response
