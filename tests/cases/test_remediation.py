"""Tier 1 remediation requests: what is accepted, what is refused and why, and the
form as a customer meets it (checklist and Tier 2 notice beside it, 422 keeping input)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.cases.models import Case, Kind
from portal.cases.remediation import parse_domain, parse_ip_list, parse_smtp_responses
from portal.extensions import db
from portal.timeutil import utcnow

# --- IPs and CIDR ranges ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("185.12.80.1", ["185.12.80.1"]),
        ("185.12.80.0/24", ["185.12.80.0/24"]),
        ("185.12.80.0/22", ["185.12.80.0/22"]),
        ("185.12.80.1/32", ["185.12.80.1/32"]),
        ("2a00:1450:4001:81c::200e", ["2a00:1450:4001:81c::200e"]),
        ("2A00:1450:4001:0081:0000:0000:0000:200E", ["2a00:1450:4001:81::200e"]),
        ("2a00:1450:4001::/48", ["2a00:1450:4001::/48"]),
        ("185.12.80.1, 185.12.80.2;185.12.80.3\n  8.8.8.8 ", ["185.12.80.1", "185.12.80.2", "185.12.80.3", "8.8.8.8"]),
        ("185.12.80.1\n185.12.80.1", ["185.12.80.1"]),
    ],
)
def test_good_ips_and_ranges(text, expected):
    assert parse_ip_list(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Enter the affected IP addresses or CIDR ranges."),
        ("300.1.2.3", "“300.1.2.3” is not an IP address."),
        ("185.12.80", "“185.12.80” is not an IP address."),
        ("185.012.80.1", "“185.012.80.1” is not an IP address."),
        ("mail.example.com", "“mail.example.com” is not an IP address."),
        ("2a00:1450::g1", "“2a00:1450::g1” is not an IP address."),
        ("185.12.80.7/24", "“185.12.80.7/24” has host bits set: the range is 185.12.80.0/24."),
        ("185.12.80.0/33", "“185.12.80.0/33” is not a CIDR range."),
        ("185.12.0.0/16", "185.12.0.0/16 is too wide: use /22 or narrower"),
        ("2a00:1450::/32", "2a00:1450::/32 is too wide: use /48 or narrower"),
        ("10.1.2.3", "10.1.2.3 is a private or reserved address"),
        ("192.168.0.0/24", "192.168.0.0/24 is a private or reserved address"),
        ("127.0.0.1", "127.0.0.1 is a loopback address."),
        ("::1", "::1 is a loopback address."),
        ("fe80::1", "fe80::1 is a link-local address."),
        ("224.0.0.5", "224.0.0.5 is a multicast address."),
        ("0.0.0.0", "0.0.0.0 is the unspecified address."),
        ("fd12:3456::1", "fd12:3456::1 is a private or reserved address"),
        ("192.0.2.10", "192.0.2.10 is a private or reserved address"),  # documentation range
    ],
)
def test_bad_ips_and_ranges_say_what_is_wrong(text, message):
    with pytest.raises(ValueError) as error:
        parse_ip_list(text)
    assert str(error.value).startswith(message)


def test_every_bad_entry_is_named_up_to_three():
    with pytest.raises(ValueError) as error:
        parse_ip_list("185.12.80.1 a b c d")
    assert str(error.value) == (
        "“a” is not an IP address. “b” is not an IP address. “c” is not an IP address. (and 1 more)"
    )
    with pytest.raises(ValueError, match="at most 100"):
        parse_ip_list(" ".join(f"185.12.{i // 250}.{i % 250 + 1}" for i in range(101)))


# --- SMTP responses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, reply, enhanced, subcode",
    [
        ("550 5.7.1 Unfortunately, messages from [185.12.80.1] weren't sent. (S3140)", "550", "5.7.1", "S3140"),
        ("421 RP-001 (BAY004-MC1F12) Unfortunately, some messages from 185.12.80.1 weren't sent.", "421", None, "RP-001"),
        ("421-4.7.28 [185.12.80.1 15] Our system has detected an unusual rate of unsolicited mail", "421", "4.7.28", None),
        ("421 4.7.0 [TSS04] Messages from 185.12.80.1 temporarily deferred", "421", "4.7.0", "TSS04"),
        ("451 4.7.1 [TS03] deferred", "451", "4.7.1", "TS03"),
        ("550 5.1.0 BL000000 Comcast block", "550", "5.1.0", "BL000000"),
        ("550 5.7.515 Access denied, sending domain does not meet the required authentication level", "550", "5.7.515", None),
        ("550 5.7.26 Unauthenticated email is not accepted", "550", "5.7.26", None),
        ("Nov 26 08:00:01 mta postfix/smtp[1234]: 5A3B: to=<a@b.example>, relay=mx[142.250.1.27]:25, delay=450, "
         "dsn=4.7.28, status=deferred (host gmail-smtp-in.l.google.com[142.250.1.27] said: 421-4.7.28 rate limited)",
         "421", "4.7.28", None),
        ("554 Transaction failed", "554", None, None),
    ],
)  # fmt: skip
def test_good_smtp_responses(line, reply, enhanced, subcode):
    [parsed] = parse_smtp_responses(line)
    assert (parsed.reply, parsed.enhanced, parsed.subcode) == (reply, enhanced, subcode)


@pytest.mark.parametrize(
    "line, message",
    [
        ("", "Paste at least one full SMTP response"),
        ("the mail bounced", "Line 1: no SMTP reply code found"),
        ("250 2.0.0 OK queued", "Line 1: 250 is not a deferral (4xx) or a rejection (5xx)."),
        ("355 go ahead", "Line 1: 355 is not a deferral (4xx) or a rejection (5xx)."),
        ("580 5.7.1 nope", "Line 1: 580 is not a valid reply code (the second digit is 0 to 5)."),
        ("550 4.7.1 mixed up", "Line 1: 550 and 4.7.1 disagree: the enhanced code's class must be 5."),
        ("421 5.7.1 mixed up", "Line 1: 421 and 5.7.1 disagree: the enhanced code's class must be 4."),
        ("550 6.7.1 bad class", "Line 1: 6.7.1 is not an enhanced status code"),
        ("550 5.7777.1 bad subject", "Line 1: 5.7777.1 is not an enhanced status code"),
        ("550 5.7.1234 bad detail", "Line 1: 5.7.1234 is not an enhanced status code"),
        ("550 5.7.1 fine\nnot a response", "Line 2: no SMTP reply code found"),
    ],
)
def test_bad_smtp_responses_say_which_line_and_why(line, message):
    with pytest.raises(ValueError) as error:
        parse_smtp_responses(line)
    assert str(error.value).startswith(message)


def test_indented_lines_continue_the_response_before():
    replies = parse_smtp_responses("550 5.7.1 Unfortunately, messages weren't sent.\n    Please contact your provider. (S3140)\n421 4.7.28 slow down")
    assert [r.summary for r in replies] == ["550 5.7.1 (S3140)", "421 4.7.28"]
    assert replies[0].permanent and not replies[1].permanent


def test_domains():
    assert parse_domain("Mail.Example.COM.") == "mail.example.com"
    assert parse_domain("bücher.example") == "bücher.example"
    for bad, message in [
        ("example", "is not a valid domain"),
        ("ana@example.com", "without the part before @"),
        ("https://example.com", "without https://"),
        ("-bad.example.com", "is not a valid domain"),
        ("exa mple.com", "is not a valid domain"),
        ("example.123", "is not a valid domain"),
        ("a" * 64 + ".example.com", "is not a valid domain"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_domain(bad)


# --- the form -------------------------------------------------------------------------


def good(**overrides) -> dict:
    first = utcnow() - timedelta(days=2)
    data = {
        "kind": "remediation",
        "subject": "Outlook.com rejects us with S3140",
        "description": "Since Tuesday every message to Outlook.com is rejected.",
        "provider": "microsoft",
        "provider_other": "",
        "recipient_domains": "outlook.com, Hotmail.com",
        "ip_scope": "dedicated",
        "ips": "185.12.80.1\n185.12.80.0/24\n2a00:1450:4001::/48",
        "sending_domain": "mail.acme.example",
        "dkim_domain": "acme.example",
        "return_path_domain": "bounce.acme.example",
        "smtp_responses": "550 5.7.1 Unfortunately, messages from [185.12.80.1] weren't sent. (S3140)",
        "first_seen": first.strftime("%Y-%m-%dT%H:%M"),
        "last_seen": "",
        "volume_before": "400,000",
        "volume_now": "0",
        "mail_type": "transactional",
        "opt_in": "relationship",
        "complaint_rate": "0.02",
        "bounce_rate": "1.5",
        "blocklist_status": "not_listed",
        "blocklists": "",
        "spf": "pass",
        "dkim": "pass",
        "dmarc": "none",
        "fcrdns": "pass",
        "tls": "pass",
        "one_click": "unknown",
        "sample_headers": "",
        "fixes": "None yet",
    }
    data.update(overrides)
    return data


@pytest.fixture
def ana(world, client):
    client.login(world.ana)
    return client


def test_form_shows_the_checklist_and_the_tier_2_notice(ana):
    page = ana.get("/cases/new?kind=remediation").text
    assert 'class="case-aside card"' in page
    assert "Tier 2 (bespoke) mediation and inbox placement are not covered" in page
    assert "List-Unsubscribe=One-Click" in page and "550 5.7.515" in page and "SNDS" in page
    for label in ("Mailbox provider", "Affected IPs or CIDR ranges", "DKIM d= domain", "Return-Path domain",
                  "Full SMTP responses", "First seen (UTC)", "Complaint rate (%)", "Blocklist status",
                  "Forward-confirmed reverse DNS", "One-click unsubscribe", "Fixes already made"):  # fmt: skip
        assert label in page, label
    # The kind is on offer, with its one-line hint.
    assert 'href="/cases/new?kind=remediation"' in ana.get("/cases/new").text
    # The planning aside is not the remediation one.
    assert "Tier 2" not in ana.get("/cases/new?kind=bug").text


def test_a_good_request_opens_a_case_with_tidy_details(world, ana):
    response = ana.post("/cases/new?kind=remediation", data=good())
    assert response.status_code == 303, re.findall(r'class="error"[^>]*>([^<]*)', response.text)
    case = db.session.scalar(select(Case))
    assert case.kind == Kind.REMEDIATION and case.assignee_id is None
    d = case.details
    assert d["ips"] == "185.12.80.1\n185.12.80.0/24\n2a00:1450:4001::/48"
    assert d["recipient_domains"] == "outlook.com, hotmail.com"
    assert d["smtp_codes"] == ["550 5.7.1 (S3140)"]
    assert d["volume_before"] == 400_000 and d["volume_now"] == 0
    assert d["complaint_rate"] == "0.02" and d["bounce_rate"] == "1.5"
    assert d["dmarc"] == "none" and d["provider"] == "microsoft"
    page = ana.get(f"/cases/{case.reference}").text
    assert "185.12.80.0/24" in page and "S3140" in page


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"ips": "10.0.0.1"}, "10.0.0.1 is a private or reserved address"),
        ({"ips": "185.12.80.7/24"}, "has host bits set: the range is 185.12.80.0/24."),
        ({"ips": "nonsense"}, "“nonsense” is not an IP address."),
        ({"ips": ""}, "Enter the affected sending IPs or CIDR ranges."),
        ({"smtp_responses": "250 OK"}, "Line 1: 250 is not a deferral (4xx) or a rejection (5xx)."),
        ({"smtp_responses": "550 4.7.1 x"}, "disagree: the enhanced code&#39;s class must be 5."),
        ({"smtp_responses": "it bounced"}, "Line 1: no SMTP reply code found"),
        ({"provider": ""}, "Choose the mailbox provider that blocks or defers your mail."),
        ({"provider_other": "", "provider": "other"}, "Name the mailbox provider."),
        ({"sending_domain": "ana@acme.example"}, "Enter the domain only, without the part before @."),
        ({"dkim_domain": "acme"}, "is not a valid domain"),
        ({"first_seen": ""}, "Enter when the problem started, in UTC."),
        ({"first_seen": "yesterday"}, "Not a valid datetime value."),
        ({"first_seen": "2026-13-45T99:00"}, "Not a valid datetime value."),
        ({"first_seen": (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}, "That is in the future"),
        ({"first_seen": "2020-01-01T10:00"}, "first seen within the last year"),
        ({"last_seen": (utcnow() - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")}, "Last seen is before first seen."),
        ({"volume_before": ""}, "Enter the daily volume to this provider before the problem"),
        ({"volume_now": "-4"}, "This cannot be negative."),
        ({"complaint_rate": "120"}, "Enter a percentage from 0 to 100."),
        ({"complaint_rate": "0.0001"}, "Use at most 3 decimals."),
        ({"bounce_rate": "lots"}, "Enter a percentage such as 40 or 33.5."),
        ({"blocklists": "", "blocklist_status": "listed"}, "Say which blocklists list you."),
        ({"spf": ""}, "Choose one for SPF"),
        ({"dmarc": "strict"}, "Not a valid choice."),
        ({"ip_scope": ""}, "Say whether the IPs are dedicated or shared."),
        ({"fixes": ""}, "Say what you have changed already"),
    ],
)
def test_bad_input_is_422_with_the_message_beside_the_field_and_everything_kept(ana, overrides, message):
    data = good(**overrides)
    response = ana.post("/cases/new?kind=remediation", data=data)
    assert response.status_code == 422
    errors = re.findall(r'<p class="error" id="([\w-]+)-error">([^<]*)</p>', response.text)
    assert any(message.replace("“", "&#34;") in text or message in text for _, text in errors), errors
    field = next(iter(overrides))  # the field the message sits beside
    assert any(field_id == field for field_id, _ in errors), (field, errors)
    # What was typed is still there.
    assert "Outlook.com rejects us with S3140" in response.text
    assert "Since Tuesday every message to Outlook.com is rejected." in response.text
    if "smtp_responses" not in overrides:
        assert "weren&#39;t sent. (S3140)" in response.text
    if "ips" not in overrides:
        assert "185.12.80.0/24" in response.text
    assert db.session.scalar(select(Case)) is None


def test_htmx_422_returns_the_form_fragment_with_the_aside(ana):
    response = ana.htmx("post", "/cases/new?kind=remediation", data=good(ips="300.0.0.1"))
    assert response.status_code == 422
    assert "<html" not in response.text
    assert "Tier 2 (bespoke) mediation" in response.text
    assert "“300.0.0.1” is not an IP address." in response.text or "300.0.0.1" in response.text


def test_the_chosen_providers_checklist_is_open(ana):
    page = ana.post("/cases/new?kind=remediation", data=good(provider="gmail", ips="")).text
    assert re.search(r"<details open>\s*<summary>Gmail</summary>", page)
    assert not re.search(r"<details open>\s*<summary>Microsoft", page)
