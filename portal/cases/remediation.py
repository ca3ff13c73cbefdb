"""Checking what a Tier 1 remediation request carries (DOMAIN.md section 4), so the
mailbox provider's form can be filled without going back to the customer.

Decisions, tested in tests/cases/test_remediation.py:

- **IPs and CIDRs** (the ``ipaddress`` module, IPv4 and IPv6), separated by lines,
  commas, semicolons or spaces. Only public addresses: a private, loopback,
  link-local, multicast or documentation address is not what a mailbox provider
  sees. A range must be written from its network address (``192.0.2.0/24``, not
  ``192.0.2.7/24``) and be no wider than /22 for IPv4 (1,024 addresses) or /48 for
  IPv6: remediation is asked for sending IPs, not whole allocations. Duplicates
  are dropped; at most 100 entries.
- **SMTP responses**, one a line (a line starting with a space continues the one
  before, as in bounce messages). Each carries a reply code of three digits,
  4xx (temporary) or 5xx (permanent), second digit 0-5 (RFC 5321). An enhanced
  status code after it is optional but, if present, is class.subject.detail
  (RFC 3463): class 4 or 5 and the same as the reply code's first digit, subject
  and detail of one to three digits. Log prefixes (``said:``, timestamps, IPs in
  brackets) are allowed around the code. Provider sub-codes (``RP-001``,
  ``S3140``, ``TS03``, ``BL000000``) are picked out for the agent.
- **Domains**: host names of two or more labels, letters, digits and hyphens
  (internationalised names are accepted and kept as typed), no scheme, path or @.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MAX_ENTRIES = 100
MIN_PREFIX = {4: 22, 6: 48}
_SEPARATORS = re.compile(r"[\s,;]+")


def _why_not_public(ip) -> str | None:
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_link_local:
        return "a link-local address"
    if not ip.is_global:
        return "a private or reserved address, not one mailbox providers see"
    return None


def parse_ip_list(text: str) -> list[str]:
    """The addresses and ranges in canonical form; ValueError lists what is wrong."""
    tokens = [t for t in _SEPARATORS.split(text or "") if t]
    if not tokens:
        raise ValueError("Enter the affected IP addresses or CIDR ranges.")
    found: list[str] = []
    problems: list[str] = []
    for token in tokens:
        try:
            entry = _parse_one(token)
        except ValueError as error:
            problems.append(str(error))
            continue
        if entry not in found:
            found.append(entry)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ValueError(" ".join(problems[:3]) + more)
    if len(found) > MAX_ENTRIES:
        raise ValueError(f"List at most {MAX_ENTRIES} IPs or ranges; use CIDR ranges for blocks.")
    return found


def _parse_one(token: str) -> str:
    shown = token if len(token) <= 45 else token[:42] + "..."
    if "/" in token:
        try:
            network = ipaddress.ip_network(token, strict=False)
        except ValueError:
            raise ValueError(f"“{shown}” is not a CIDR range.") from None
        if network.network_address != ipaddress.ip_interface(token).ip:
            raise ValueError(
                f"“{shown}” has host bits set: the range is {network}."
            )
        if network.prefixlen < MIN_PREFIX[network.version]:
            raise ValueError(
                f"{network} is too wide: use /{MIN_PREFIX[network.version]} or narrower "
                "(list your sending IPs or their ranges)."
            )
        reason = _why_not_public(network)
        if reason:
            raise ValueError(f"{network} is {reason}.")
        return str(network)
    try:
        ip = ipaddress.ip_address(token)
    except ValueError:
        raise ValueError(f"“{shown}” is not an IP address.") from None
    reason = _why_not_public(ip)
    if reason:
        raise ValueError(f"{ip} is {reason}.")
    return str(ip)


@dataclass(frozen=True)
class SmtpReply:
    line: str
    reply: str  # "421"
    enhanced: str | None  # "4.7.28"
    subcode: str | None  # "RP-001", "S3140", "TS03", "BL000000"

    @property
    def permanent(self) -> bool:
        return self.reply.startswith("5")

    @property
    def summary(self) -> str:
        return " ".join(p for p in (self.reply, self.enhanced, self.subcode and f"({self.subcode})") if p)


# A reply code not glued to other digits, dots, colons or '=' (so not part of an
# IP, a time, a queue id or delay=450), then an optional enhanced status code.
_REPLY = re.compile(
    r"(?<![\w.:=/-])(\d{3})(?=[ -]|$)(?:[ -]\s*(\d+\.\d+\.\d+)(?![\d.]))?"
)
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
_SUBCODE = re.compile(r"\b(RP-\d{3}|TSS?\d{2}|S\d{4}|[A-Z]{2}\d{6})\b")
MAX_LINES = 50


def parse_smtp_responses(text: str) -> list[SmtpReply]:
    lines: list[str] = []
    for raw in (text or "").splitlines():
        if not raw.strip():
            continue
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += " " + raw.strip()
        else:
            lines.append(raw.strip())
    if not lines:
        raise ValueError("Paste at least one full SMTP response, e.g. 550 5.7.1 … (S3140).")
    if len(lines) > MAX_LINES:
        raise ValueError(f"Paste at most {MAX_LINES} responses; a few of each kind are enough.")
    replies, problems = [], []
    for number, line in enumerate(lines, start=1):
        try:
            replies.append(_parse_reply(line))
        except ValueError as error:
            problems.append(f"Line {number}: {error}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ValueError(" ".join(problems[:3]) + more)
    return replies


def _parse_reply(line: str) -> SmtpReply:
    candidates = list(_REPLY.finditer(line))
    # Prefer a code that carries an enhanced status, then any 4xx/5xx, then whatever
    # there is (to say what is wrong with it).
    match = next((m for m in candidates if m.group(2)), None) or next(
        (m for m in candidates if m.group(1)[0] in "45"), None
    ) or (candidates[0] if candidates else None)
    if match is None:
        raise ValueError("no SMTP reply code found (3 digits starting with 4 or 5, e.g. 421 or 550).")
    reply, enhanced = match.group(1), match.group(2)
    if reply[0] not in "45":
        raise ValueError(
            f"{reply} is not a deferral (4xx) or a rejection (5xx)."
        )
    if reply[1] not in "012345":
        raise ValueError(f"{reply} is not a valid reply code (the second digit is 0 to 5).")
    if enhanced:
        parts = _ENHANCED.match(enhanced)
        if not parts:
            raise ValueError(
                f"{enhanced} is not an enhanced status code (class.subject.detail, "
                "class 2, 4 or 5, then one to three digits each, e.g. 5.7.1)."
            )
        if parts.group(1) != reply[0]:
            raise ValueError(
                f"{reply} and {enhanced} disagree: the enhanced code's class must be {reply[0]}."
            )
    subcode = _SUBCODE.search(line)
    return SmtpReply(line, reply, enhanced, subcode.group(1) if subcode else None)


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def parse_domain(text: str) -> str:
    value = (text or "").strip().rstrip(".")
    if not value:
        raise ValueError("Enter a domain, e.g. mail.example.com.")
    if "@" in value:
        raise ValueError("Enter the domain only, without the part before @.")
    if "://" in value or "/" in value:
        raise ValueError("Enter the domain only, without https:// or a path.")
    try:
        ascii_name = value.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f"“{value[:60]}” is not a valid domain.") from None
    labels = ascii_name.split(".")
    if (
        len(ascii_name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError(f"“{value[:60]}” is not a valid domain (e.g. mail.example.com).")
    return value.lower()


def parse_domain_list(text: str) -> list[str]:
    found, problems = [], []
    for token in (t for t in _SEPARATORS.split(text or "") if t):
        try:
            domain = parse_domain(token)
        except ValueError as error:
            problems.append(str(error))
            continue
        if domain not in found:
            found.append(domain)
    if problems:
        raise ValueError(" ".join(problems[:3]))
    return found
