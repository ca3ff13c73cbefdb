"""Reading a raw message: who sent it, which mail it answers, its text and its
files, and whether a machine wrote it. Pure functions of the bytes; no database.

The MIME tree is parsed with ``policy.compat32``, whose headers stay plain
strings: ``policy.default`` builds a header object on every access, and walking
the parts asks for Content-Type many times (it made parsing four times slower).
The headers a person reads (Subject, From, To, Cc) go through ``policy.default``'s
header factory, for RFC 2047 encoded words and raw UTF-8; where it gives up on a
malformed header we fall back to the raw value rather than fail the message.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field, fields, replace
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from portal.inputs import drop_nul
from portal.mail.inbound_html import html_to_text

_PARSER = BytesParser(_class=EmailMessage, policy=policy.compat32)
_HEADER = policy.default.header_factory
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_BARE_ID = re.compile(r"[^<>\s@]+@[^<>\s@]+")
_PLAIN_ADDRESS = re.compile(r"^[^\s\"<>@]+@[^\s\"<>@]+$")
_TAG = re.compile(r"\[\s*(CS-\d{1,12})\s*\]", re.IGNORECASE)
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|wg|tr|rv|doorst)\s*:", re.IGNORECASE)

# WHATWG: a label of ISO-8859-1 (or ASCII) means windows-1252; mailers that say
# latin-1 routinely send Windows "smart quotes" and the euro sign.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "x-user-defined": "cp1252",
    "unicode-1-1-utf-7": "utf-7",
}
# Signature parts of signed mail are not evidence anyone wants attached.
_SIGNATURE_TYPES = {
    "application/pgp-signature",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
}

AUTO_REPLY = "automatic reply"
DELIVERY_REPORT = "delivery report"
BULK = "bulk mail"
MAILING_LIST = "mailing list"
OWN_ADDRESS = "mail from the portal's own address"


@dataclass
class MailFile:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class ParsedMail:
    message_id: str  # "<...>", made up from the content when the message has none
    in_reply_to: list[str]
    references: list[str]
    sender: str  # lower-case addr-spec of From, "" when there is none
    sender_name: str
    subject: str
    to: list[str]
    cc: list[str]
    date: str
    return_path: str | None  # None when absent, "" for the null sender <>
    text: str  # the whole body as text, HTML converted
    files: list[MailFile]
    automatic: str | None  # why a machine wrote it, None for a person
    # Message-IDs a delivery report says it is about (from the returned headers).
    reported_ids: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Ids this message answers, the most telling first: In-Reply-To, then
        References from the newest to the oldest."""
        seen: list[str] = []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.append(mid)
        return seen

    @property
    def case_tags(self) -> list[str]:
        return [m.upper() for m in _TAG.findall(self.subject)]

    @property
    def is_forward(self) -> bool:
        return bool(_FORWARD_SUBJECT.match(self.subject))


def split_raw(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, body) with line ends made LF, so a message piped in by an MTA
    and the same message over SMTP compare equal."""
    data = raw.replace(b"\r\n", b"\n")
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        return data, b""
    return head, body


def body_digest(raw: bytes) -> str:
    """sha256 of the body only: relays add headers (Received, Return-Path) to the
    same message, and the same message delivered twice must compare equal."""
    return hashlib.sha256(split_raw(raw)[1]).hexdigest()


def parse_ids(value: str | None) -> list[str]:
    if not value:
        return []
    found = ["<" + m + ">" for m in _MSG_ID.findall(value)]
    if not found:
        found = ["<" + m + ">" for m in _BARE_ID.findall(value)]
    return found


def id_variants(ids: list[str]) -> list[str]:
    """Each id with and without its angle brackets, whichever way it was stored."""
    out = []
    for mid in ids:
        out += [mid, mid.strip("<>")]
    return out


def _raw_header(msg: EmailMessage, name: str) -> str | None:
    """The header's value as written, unfolded, without policy parsing."""
    lname = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == lname:
            if not isinstance(value, str):
                value = str(value)
            return re.sub(r"\r?\n[ \t]", " ", value).strip()
    return None


def _text_header(msg: EmailMessage, name: str) -> str:
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    try:
        text = str(_HEADER(name, raw))
    except Exception:  # the parser trips over some malformed headers
        try:
            text = str(make_header(decode_header(raw)))
        except Exception:
            text = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    # A subject or name is one line: folding and stray CR/LF never survive.
    return re.sub(r"[\r\n\t]+", " ", text).strip()


def _addresses(msg: EmailMessage, name: str) -> list[tuple[str, str]]:
    raw = _raw_header(msg, name)
    if raw is None:
        return []
    try:
        pairs = [(a.display_name, a.addr_spec) for a in _HEADER(name, raw).addresses]
    except Exception:
        pairs = getaddresses([raw])
    found = [(n or "", a.strip().lower()) for n, a in pairs if a and "@" in a]
    if found and all(_PLAIN_ADDRESS.match(a) for _, a in found):
        return found
    # A header the parser misread ("Ana ana@x <ana@x>"): take what is in <...>.
    raw = _raw_header(msg, name) or ""
    bracketed = re.findall(r"<([^<>\s]+@[^<>\s]+)>", raw) or _BARE_ID.findall(raw)
    return [(found[0][0] if found else "", a.lower()) for a in bracketed] or found


def decode_text(data: bytes, charset: str | None) -> str:
    label = (charset or "us-ascii").strip().strip('"').lower()
    label = _CHARSET_ALIASES.get(label, label)
    try:
        codecs.lookup(label)
    except LookupError:
        label = "utf-8"
    if label == "cp1252" and not data.isascii():
        # Labelled ASCII or Latin-1, but valid UTF-8: it is UTF-8 (the reverse
        # accident, Latin-1 text that happens to be valid UTF-8, hardly occurs).
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode(label)
    except UnicodeDecodeError:
        pass
    # A wrong label: UTF-8 that says otherwise is common; else keep what decodes.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(label, errors="replace")


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: a line ending in a space continues on the next."""
    out: list[str] = []
    buffer = ""
    for line in text.split("\n"):
        quote = len(line) - len(line.lstrip(">"))
        if line.startswith(">" * quote + " ") and quote:
            line = line[:quote] + line[quote + 1 :]  # space-stuffing after quotes
        elif line.startswith(" ") and not quote:
            line = line[1:]
        if line.endswith(" ") and line.rstrip() != "--" and line.rstrip(">").strip():
            buffer += line[:-1] if delsp else line
            continue
        out.append(buffer + line)
        buffer = ""
    if buffer:
        out.append(buffer)
    return "\n".join(out)


def _part_text(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True) or b""
    text = decode_text(payload, part.get_content_charset())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    params = {k.lower(): v.lower() for k, v in part.get_params(header="content-type") or [] if v}
    if params.get("format") == "flowed":
        text = _unflow(text, params.get("delsp") == "yes")
    return text


def _children(part: EmailMessage) -> list[EmailMessage]:
    payload = part.get_payload()
    return payload if isinstance(payload, list) else []


def _walk(part: EmailMessage, parent: EmailMessage | None = None):
    """Leaf parts with their parent; a message/rfc822 part is a leaf (an attached mail)."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for child in _children(part):
            yield from _walk(child, part)
    else:
        yield part, parent


def _filename(part: EmailMessage, index: int) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        if "=?" in name:  # an encoded word where RFC 2231 was due (Outlook does this)
            # A malformed encoded word keeps the name as it came.
            with contextlib.suppress(Exception):
                name = str(make_header(decode_header(name)))
        return re.sub(r"[\r\n\t]+", " ", name).strip()
    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        return f"attached-message-{index}.eml"
    cid = (part.get("Content-ID") or "").strip("<> ").split("@")[0]
    ext = mimetypes.guess_extension(ctype) or ".bin"
    return f"{cid or 'part'}-{index}{ext}" if cid else f"attachment-{index}{ext}"


def _part_bytes(part: EmailMessage) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = _children(part)
        if inner:
            return inner[0].as_bytes(policy=policy.compat32.clone(linesep="\r\n"))
    return part.get_payload(decode=True) or b""


def _body_and_files(msg: EmailMessage) -> tuple[str, list[MailFile]]:
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        body = None
    texts: list[str] = []
    skip: set[int] = set()
    if body is not None:
        texts.append(_part_text(body))
        skip.add(id(body))
    files: list[MailFile] = []
    for index, (part, parent) in enumerate(_walk(msg), start=1):
        if id(part) in skip:
            continue
        ctype = part.get_content_type()
        maintype = part.get_content_maintype()
        disposition = (part.get_content_disposition() or "").lower()
        has_name = bool(
            part.get_param("name") or part.get_param("filename", header="content-disposition")
        )
        alternative = parent is not None and parent.get_content_type() == "multipart/alternative"
        if alternative and body is not None and maintype == "text" and disposition != "attachment":
            continue  # another rendering of the body we already took
        if ctype in _SIGNATURE_TYPES or ctype in ("message/delivery-status", "text/rfc822-headers"):
            continue
        if maintype == "text" and disposition != "attachment" and not has_name:
            # Apple Mail splits a plain body around an inline image: keep the text.
            if body is None or ctype == "text/plain":
                texts.append(_part_text(part))
            continue
        data = _part_bytes(part)
        if not data:
            continue
        files.append(
            MailFile(
                filename=_filename(part, index),
                content_type=ctype,
                data=data,
                inline=disposition == "inline" or bool(part.get("Content-ID")),
            )
        )
    return "\n\n".join(t.strip("\n") for t in texts if t.strip()), files


def _reported_ids(msg: EmailMessage) -> list[str]:
    """A delivery report returns the headers of the mail it is about."""
    ids: list[str] = []
    for part, _ in _walk(msg):
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = _children(part)
            if inner:
                ids += parse_ids(_raw_header(inner[0], "Message-ID"))
        elif ctype == "text/rfc822-headers":
            text = decode_text(part.get_payload(decode=True) or b"", part.get_content_charset())
            match = re.search(r"^Message-ID:\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
            if match:
                ids += parse_ids(match.group(1))
    return ids


def automatic_reason(msg: EmailMessage, return_path: str | None) -> str | None:
    """Why a machine, not a person, wrote this (RFC 3834 and list conventions)."""
    if msg.get_content_type() == "multipart/report":
        return DELIVERY_REPORT
    auto = (_raw_header(msg, "Auto-Submitted") or "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return AUTO_REPLY
    if _raw_header(msg, "X-Autoreply") or _raw_header(msg, "X-Autorespond"):
        return AUTO_REPLY
    precedence = (_raw_header(msg, "Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk"):
        return BULK
    if precedence == "list" or _raw_header(msg, "List-Id") or _raw_header(msg, "List-Post"):
        return MAILING_LIST
    if return_path == "":
        return DELIVERY_REPORT  # the null sender is for bounces and notices
    return None


def _return_path(msg: EmailMessage) -> str | None:
    value = _raw_header(msg, "Return-Path")
    if value is None:
        return None
    value = value.strip()
    if value in ("<>", ""):
        return ""
    return parseaddr(value)[1].lower() or value.strip("<>").lower()


def _synthetic_id(msg: EmailMessage, raw: bytes) -> str:
    """A stable id for a message without one, so a second delivery still matches."""
    seed = (
        "\n".join(
            _raw_header(msg, name) or "" for name in ("From", "Date", "Subject", "To")
        ).encode()
        + b"\n"
        + split_raw(raw)[1]
    )
    return f"<missing-id.{hashlib.sha256(seed).hexdigest()[:40]}@inbound.invalid>"


def _without_nul(value):
    """Every text of a parsed mail without NUL (see portal.inputs): an encoded word,
    quoted-printable or a raw byte can carry one. A file's bytes are its own."""
    if isinstance(value, ParsedMail):
        return replace(value, **{f.name: _without_nul(getattr(value, f.name)) for f in fields(value)})
    if isinstance(value, MailFile):
        return replace(
            value, filename=drop_nul(value.filename), content_type=drop_nul(value.content_type)
        )
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return drop_nul(value)


def parse(raw: bytes) -> ParsedMail:
    return _without_nul(_parse(raw))


def _parse(raw: bytes) -> ParsedMail:
    msg: EmailMessage = _PARSER.parsebytes(raw)
    ids = parse_ids(_raw_header(msg, "Message-ID"))
    message_id = ids[0] if ids and len(ids[0]) <= 255 else ""
    if ids and not message_id:
        message_id = f"<long-id.{hashlib.sha256(ids[0].encode()).hexdigest()[:40]}@inbound.invalid>"
    if not message_id:
        message_id = _synthetic_id(msg, raw)
    senders = _addresses(msg, "From")
    name, sender = senders[0] if senders else ("", "")
    return_path = _return_path(msg)
    text, files = _body_and_files(msg)
    automatic = automatic_reason(msg, return_path)
    return ParsedMail(
        message_id=message_id,
        in_reply_to=parse_ids(_raw_header(msg, "In-Reply-To")),
        references=parse_ids(_raw_header(msg, "References")),
        sender=sender,
        sender_name=re.sub(r"[\r\n\t]+", " ", name).strip(),
        subject=_text_header(msg, "Subject"),
        to=[a for _, a in _addresses(msg, "To")],
        cc=[a for _, a in _addresses(msg, "Cc")],
        date=_text_header(msg, "Date"),
        return_path=return_path,
        text=text,
        files=files,
        automatic=automatic,
        reported_ids=_reported_ids(msg) if automatic == DELIVERY_REPORT else [],
        defects=[type(d).__name__ for d in msg.defects],
    )


def headline(raw: bytes) -> tuple[str, str, str]:
    """(message id, sender, subject) of a message that may not even parse."""
    try:
        mail = parse(raw)
        return mail.message_id, mail.sender, mail.subject
    except Exception:
        digest = hashlib.sha256(raw).hexdigest()[:40]
        return f"<unparsable.{digest}@inbound.invalid>", "", ""
