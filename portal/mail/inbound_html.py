"""HTML mail as plain text, with the standard library's html.parser.

Enough structure survives for the trimmer to find quoted history: blockquotes
come out as ``> `` lines, Outlook's reply header as its "From:/Sent:" lines, and
a Gmail or Thunderbird signature block is preceded by the ``-- `` separator.
Scripts, styles and the document head never become text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {
    "address",
    "article",
    "aside",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
}
# Blocks set apart by a blank line, on opening and on closing.
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "blockquote"}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "xml", "o:p"}
_VOID = {"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "wbr"}
_SIGNATURE_CLASSES = {"gmail_signature", "moz-signature"}


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current = ""
        self.skip_depth = 0
        self.quote_depth = 0
        self.pre_depth = 0
        self.stack: list[tuple[str, bool]] = []  # (tag, opened a quote)
        self.lists: list[list] = []  # [ordered, counter]
        self.href: str | None = None
        self.link_text = ""

    def _flush(self) -> None:
        raw = self.current.replace("\xa0", " ")
        text = raw if self.pre_depth else re.sub(r"[ \t\r\n\f]+", " ", raw).strip()
        prefix = "> " * self.quote_depth
        if text or self.pre_depth:
            for line in text.split("\n"):
                self.lines.append((prefix + line).rstrip())
        self.current = ""

    def _break(self, blank: bool = False) -> None:
        self._flush()
        if not blank or not self.lines:
            return
        marker = ("> " * self.quote_depth).rstrip()
        last = self.lines[-1]
        if last.strip("> "):
            self.lines.append(marker)
        elif last.count(">") > self.quote_depth:
            self.lines[-1] = marker  # leaving a quote: its blank line belongs outside

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip_depth += 1
            return
        if self.skip_depth:
            return
        classes = set((attrs.get("class") or "").split())
        if tag == "br":
            self._flush()
            return
        if tag in _PARAGRAPHS:
            self._break(blank=True)
        elif tag in _BLOCK:
            self._flush()
        if classes & _SIGNATURE_CLASSES:
            self._flush()
            self.lines.append(("> " * self.quote_depth) + "-- ")
        if tag == "hr":
            self.lines.append(("> " * self.quote_depth) + "________________________________")
            return
        if tag == "blockquote":
            self.quote_depth += 1
        if tag == "pre":
            self.pre_depth += 1
        if tag in ("ul", "ol"):
            self.lists.append([tag == "ol", 0])
        if tag == "li":
            if self.lists:
                self.lists[-1][1] += 1
                ordered, n = self.lists[-1]
                self.current += f"{n}. " if ordered else "- "
            else:
                self.current += "- "
        if tag in ("td", "th") and self.current.strip():
            self.current += " | "
        if tag == "a":
            self.href = attrs.get("href")
            self.link_text = ""
        if tag == "img":
            alt = (attrs.get("alt") or "").strip()
            if alt:
                self.current += f"[{alt}]"
        if tag not in _VOID:
            self.stack.append((tag, tag == "blockquote"))

    def handle_startendtag(self, tag, attrs):
        if tag in _SKIP:
            return  # <o:p/> and the like: nothing inside, nothing to skip
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and self.stack and self.stack[-1][0] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth or tag in _VOID:
            return
        # Close up to the matching open tag (HTML mail is rarely well formed).
        while self.stack:
            open_tag, quoted = self.stack.pop()
            self._close(open_tag, quoted)
            if open_tag == tag:
                break

    def _close(self, tag: str, quoted: bool) -> None:
        if tag == "a":
            href, self.href = self.href, None
            text = self.link_text.strip()
            if (
                href
                and href.startswith(("http://", "https://"))
                and text
                and href.rstrip("/") != text.rstrip("/")
            ):
                self.current += f" ({href})"
        if tag in _PARAGRAPHS:
            self._flush()
            if tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)
            if quoted:
                self.quote_depth = max(0, self.quote_depth - 1)
            self._break(blank=True)
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()
        elif tag in _BLOCK:
            self._flush()

    def handle_data(self, data):
        if self.skip_depth:
            return
        self.current += data
        if self.href is not None:
            self.link_text += data

    def text(self) -> str:
        while self.stack:
            self._close(*self.stack.pop())
        self._flush()
        out: list[str] = []
        for line in self.lines:
            if not line.strip("> ") and out and not out[-1].strip("> "):
                continue  # one blank line at most
            out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> str:
    converter = _Converter()
    converter.feed(html)
    converter.close()
    return converter.text()
