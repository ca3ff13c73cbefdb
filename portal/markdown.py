"""Markdown from anyone becomes safe HTML: raw HTML off in the parser, then nh3.

Two readings: guides (``render_markdown``) are CommonMark, where a single line
break joins the lines; messages in a case (``render_message``: replies typed in the
portal and mails turned into replies) keep every line break, as people who type
"Thanks,<Enter>Ana" expect and as mail clients show them."""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

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


def _parser(breaks: bool) -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": breaks})
    parser.enable("table")
    parser.add_render_rule("th_open", _cell_open)
    parser.add_render_rule("td_open", _cell_open)
    return parser


_document = _parser(breaks=False)
_message = _parser(breaks=True)


@lru_cache(maxsize=1024)
def render_markdown(source: str) -> Markup:
    """A guide's Markdown. Pure, so cached."""
    return _clean(_document.render(source or ""))


@lru_cache(maxsize=4096)
def render_message(source: str) -> Markup:
    """A message's Markdown, line breaks kept. Pure, so cached: a case page shows the
    same bodies to every visit."""
    return _clean(_message.render(source or ""))


def _clean(html: str) -> Markup:
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
