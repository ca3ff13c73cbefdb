"""Trimming a reply to what the person wrote this time: the quoted history and the
signature go, for the timeline only (the original message stays downloadable).

What is recognised, as the common clients write it:

- an attribution line, "On <date>, <name> wrote:" (Gmail, Apple Mail, Thunderbird;
  also wrapped over two or three lines, and a few other languages), followed by
  the quoted text;
- Outlook's header block ("From: ... Sent: ... To: ... Subject: ...", often
  after a line of underscores) and "-----Original Message-----";
- a trailing block of ">" quoted lines (interleaved quotes, an inline answer,
  are kept: there they are the context of the answer);
- the portal's own "Reply above this line" marker, quoted or not;
- the "-- " signature separator and the "Sent from my iPhone" family.

A forward, and the first message of a new case, keep what they quote: there it
is the point (only the signature above it goes). Trimming never
leaves nothing: if it would, the text is kept as it was.
"""

from __future__ import annotations

import re

_ATTRIBUTION_START = re.compile(
    r"^\s*>?\s*(On|Le|Am|El|Il|Op|Em|Den|På|W dniu|Dne)\b", re.IGNORECASE
)
_VERBS = r"(wrote|a écrit|schrieb|escribió|ha scritto|schreef|escreveu|skrev|napisał|napsal)"
_ATTRIBUTION_END = re.compile(_VERBS + r"\s*:\s*$", re.IGNORECASE)
# German puts the name after the verb: "Am ... schrieb Support <support@...>:".
_ATTRIBUTION_VERB = re.compile(r"\b" + _VERBS + r"\b.*:\s*$", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
    r"Messaggio originale|Oorspronkelijk bericht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_MARKER = re.compile(
    r"^\s*(-{2,}\s*(Forwarded message|Forwarded Message|Weitergeleitete Nachricht|"
    r"Message transféré)\s*-{2,}|Begin forwarded message:|Anfang der weitergeleiteten Nachricht:)\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(From|Von|De|Van|Da)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\*?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden|Inviato)\s*:\*?\s*\S", re.IGNORECASE
)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(To|Subject|Cc|An|Betreff|À|Objet|Para|Asunto|Aan|Onderwerp|A|Oggetto)\s*:\*?",
    re.IGNORECASE,
)
# The portal's own notifications say where a reply by mail should stop.
_REPLY_ABOVE = re.compile(r"^[>\s]*-*\s*Reply above this line", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(Sent from my \w[\w ]*|Sent from (Mail|Outlook|Yahoo Mail) for [\w ]+|"
    r"Get Outlook for (iOS|Android)|Sent from Outlook( for \w+)?|Von meinem \w+ gesendet|"
    r"Envoyé de mon \w+)\s*\.?\s*$",
    re.IGNORECASE,
)


def _is_attribution(lines: list[str], i: int) -> int:
    """How many lines the attribution starting at ``i`` spans (0 when it is not one)."""
    line = lines[i]
    if _ATTRIBUTION_START.match(line):
        joined = line
        for span in range(1, 4):
            if _ATTRIBUTION_END.search(joined.rstrip()) or _ATTRIBUTION_VERB.search(
                joined.rstrip()
            ):
                return span
            if i + span >= len(lines):
                break
            joined += " " + lines[i + span].lstrip("> ").strip()
    # "<someone> wrote:" directly above quoted lines, whatever came before it.
    if _ATTRIBUTION_END.search(line.rstrip()) and _next_is_quote(lines, i + 1):
        return 1
    return 0


def _next_is_quote(lines: list[str], i: int) -> bool:
    for line in lines[i:]:
        if line.strip():
            return line.lstrip().startswith(">")
    return False


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _HEADER_FROM.match(lines[i]):
        return False
    window = lines[i + 1 : i + 6]
    return any(_HEADER_SENT.match(x) for x in window) and any(
        _HEADER_OTHER.match(x) for x in window
    )


def quote_start(lines: list[str]) -> int | None:
    """Index of the first line of quoted history, or None."""
    for i, line in enumerate(lines):
        if _FORWARD_MARKER.match(line):
            return None  # what follows is a forward, kept whole
        if _REPLY_ABOVE.match(line):
            return i  # an attribution above it was already found by this scan
        if _ORIGINAL_MESSAGE.match(line) or _is_attribution(lines, i) or _is_header_block(lines, i):
            # Outlook puts a line of underscores (perhaps then an empty line) above its header.
            above = i - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            if above >= 0 and _UNDERSCORES.match(lines[above]):
                return above
            return i
    return None


def _strip_signature(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if line.rstrip() == "--" and line.startswith("--"):
            return lines[:i]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if lines and _MOBILE_SIGNATURE.match(lines[-1]):
        lines = lines[:-1]
    return lines


def _strip_trailing_quote(lines: list[str]) -> list[str]:
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    return lines[:end]


def trim_reply(text: str, keep_history: bool = False) -> str:
    """The new text of a reply. With ``keep_history`` (a forward, or the first
    message of a new case, where what is quoted is the point) only the sender's
    signature above the quoted or forwarded part goes."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if keep_history:
        return _tidy(_strip_signature_before_history(text.split("\n"))) or text.strip()
    lines = text.split("\n")
    cut = quote_start(lines)
    if cut is not None:
        lines = lines[:cut]
    lines = _strip_trailing_quote(lines)
    lines = _strip_signature(lines)
    lines = _strip_trailing_quote(lines)
    trimmed = _tidy(lines)
    return trimmed or text.strip()


def _strip_signature_before_history(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if (
            _FORWARD_MARKER.match(line)
            or _is_header_block(lines, i)
            or _ORIGINAL_MESSAGE.match(line)
            or _is_attribution(lines, i)
        ):
            head, rest = lines[:i], lines[i:]
            head = _strip_signature(head)
            return [*head, "", *rest] if head else rest
    return _strip_signature(lines)


def _tidy(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out).strip("\n")
