"""Markdown from anyone becomes safe HTML: raw HTML off in the parser, then nh3."""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALIGN_CLASSES = {"align-left", "align-center", "align-right"}


def _cell_open(renderer, tokens, idx, options, env):
    """Table alignment as a class: the Content-Security-Policy refuses inline styles."""
    token = tokens[idx]
    style = token.attrGet("style") or ""
    if style.startswith("text-align:"):
        token.attrs.pop("style")
        token.attrSet("class", "align-" + style.split(":", 1)[1].strip())
    return renderer.renderToken(tokens, idx, options, env)


_md.add_render_rule("th_open", _cell_open)
_md.add_render_rule("td_open", _cell_open)


@lru_cache(maxsize=4096)
def render_markdown(source: str) -> Markup:
    """Pure, so cached: a case page shows the same bodies to every poll and visit."""
    html = _md.render(source or "")
    return Markup(
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            allowed_classes={"th": ALIGN_CLASSES, "td": ALIGN_CLASSES},
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
    )
