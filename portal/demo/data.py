"""Demo data: two customer accounts with their people, about twenty cases of every
kind played through the lifecycle services, a saved warm-up plan, and the knowledge
base from ``content/kb``.

Loading is idempotent by natural keys: accounts by name, users by email, plans by
name within their account, cases by subject within their account, categories and
articles by slug. Loading again refreshes people and articles (so edited article
files take effect) and leaves existing plans and cases alone.

Cases are written by the same service functions the views call, so their
timelines are what the portal itself would have produced; each step then has
its timestamps moved to a planned moment in the past, so the timelines read as
hours and days of real work rather than one burst at load time.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal.accounts.models import Account, Role, User
from portal.auth.passwords import check_password, hash_password
from portal.cases import remediation, services
from portal.cases.models import Attachment, Case, CaseEvent, Kind
from portal.clocks import services as clock_services
from portal.config import ROOT
from portal.database import immediate
from portal.extensions import db
from portal.kb.models import Article, Category
from portal.mail.notify import muted
from portal.markdown import render_markdown
from portal.planner import services as planner_services
from portal.planner.models import WarmupPlan
from portal.planner.schedule import PROVIDERS, PlanInputs
from portal.timeutil import utcnow

PASSWORD = "demo"
CONTENT_DIR = ROOT / "content" / "kb"


def _text(text: str) -> str:
    return textwrap.dedent(text).strip()


_BLOCK_START = re.compile(r"(?:[-*+] |\d+\. |>|\||#|```)")


def _md(text: str) -> str:
    """A message as a person would type it: the lines this source wraps at 80
    columns are joined again, since messages keep their line breaks when shown
    (``portal.markdown.render_message``). Blank lines, short lines (a greeting, a
    signature), list items, quotes, tables, headings and fenced code keep theirs."""
    lines: list[str] = []
    fenced = False
    for line in _text(text).split("\n"):
        stripped = line.strip()
        joins = (
            not fenced
            and stripped
            and lines
            and len(lines[-1].strip()) >= 50  # wrapped prose, not "Thanks," over a name
            and not lines[-1].lstrip().startswith(("```", "|"))
            and not _BLOCK_START.match(stripped)
        )
        if stripped.startswith("```"):
            fenced = not fenced
        if joins:
            lines[-1] = f"{lines[-1]} {stripped}"
        else:
            lines.append(line)
    return "\n".join(lines)


def _file(name: str, content_type: str, text: str) -> services.NewFile:
    return services.NewFile(name, content_type, (_text(text) + "\n").encode())


# Accounts and people ----------------------------------------------------------

WEEKDAYS_ONLY = ("mon", "tue", "wed", "thu", "fri")

ACCOUNTS = {
    "acme": {
        "name": "Acme Mail",
        "timezone": "Europe/Amsterdam",
        "business_hours": {day: [["08:30", "17:30"]] for day in WEEKDAYS_ONLY},
    },
    "globex": {
        "name": "Globex Retail",
        "timezone": "Asia/Jakarta",
        "business_hours": {
            **{day: [["08:00", "12:00"], ["13:00", "17:00"]] for day in WEEKDAYS_ONLY},
            "sat": [["09:00", "12:00"]],
        },
    },
}


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    role: Role
    timezone: str
    account: str | None = None
    phone: str | None = None
    on_duty: bool = False


PEOPLE = {
    "tam": Person("tam@support.example", "Tess Janssen", Role.TAM, "Europe/Amsterdam",
                  phone="+31 20 555 0101"),
    "agent": Person("agent@support.example", "Aidan Brooks", Role.AGENT, "Europe/Amsterdam",
                    phone="+31 20 555 0120", on_duty=True),
    "mina": Person("mina@support.example", "Mina Kato", Role.AGENT, "Asia/Singapore",
                   phone="+65 6555 0133"),
    "admin": Person("admin@support.example", "Ada Okafor", Role.ADMIN, "Europe/Amsterdam"),
    "ana": Person("ana@acme.example", "Ana Alvarez", Role.CUSTOMER, "Europe/Amsterdam",
                  "acme", "+31 20 555 0142"),
    "marek": Person("marek@acme.example", "Marek Novak", Role.CUSTOMER, "Europe/Amsterdam",
                    "acme", "+31 20 555 0157"),
    "priya": Person("priya@acme.example", "Priya Raman", Role.CUSTOMER, "Europe/London",
                    "acme", "+44 20 7946 0321"),
    "bo": Person("bo@globex.example", "Bo Hartono", Role.CUSTOMER, "Asia/Jakarta",
                 "globex", "+62 21 555 0177"),
    "sari": Person("sari@globex.example", "Sari Wijaya", Role.CUSTOMER, "Asia/Jakarta",
                   "globex", "+62 21 555 0184"),
    "dewi": Person("dewi@globex.example", "Dewi Santoso", Role.CUSTOMER, "Asia/Jakarta",
                   "globex", "+62 21 555 0190"),
}

LOGINS = ("ana", "bo", "agent", "tam", "admin")


# Knowledge-base categories; each article is content/kb/<category slug>/<article slug>.md

CATEGORIES = (
    ("deliverability-best-practice", "Deliverability best practice",
     "Getting mail accepted and into the inbox: reply codes, rates and the headers that matter."),
    ("ip-warm-up-and-migration", "IP warm-up and migration",
     "Building reputation on new IPs and moving traffic from another provider."),
    ("blocklists-and-remediation", "Blocklists and remediation",
     "What a listing means, how delisting works, and what Tier 1 remediation covers."),
    ("authentication-spf-dkim-dmarc", "Authentication: SPF, DKIM, DMARC",
     "Proving your mail is yours, and keeping it that way through changes."),
    ("industry-trends", "Industry trends",
     "What the mailbox providers changed recently and what it asks of senders."),
    ("using-the-portal", "Using the portal",
     "Opening the right case, the Severity 1 hotline, and getting answers fast."),
)


# Warm-up plans --------------------------------------------------------------------


@dataclass(frozen=True)
class PlanScript:
    """A plan saved in the planner by ``author`` for their account, found again by
    its name. It starts on the first Monday at least ``lead_days`` after the first
    load, like a plan made for a real start; loading again leaves it as it is."""

    author: str
    name: str
    made: str  # a moment, as in the case scripts below
    volume: int
    ips: int
    shares: dict[str, str]  # percent per mailbox provider, keyed like the planner's PROVIDERS
    current_volume: int | None = None  # a migration: what the old provider carries today
    lead_days: int = 7


PLANS = {
    # 1.5M a day on 3 IPs (the planner suggests 3 for 800,000 to 2,500,000): the quota
    # covers all traffic on day 17, when each IP reaches 500,000.
    "acme-marketplace": PlanScript(
        "ana",
        "Marketplace notifications: migration from our previous provider",
        "bd3 15:40",
        volume=1_500_000,
        ips=3,
        shares={"gmail": "48", "microsoft": "27", "yahoo": "10", "others": "15"},
        current_volume=1_500_000,
    ),
}


# Case scripts -------------------------------------------------------------------
#
# A moment is "bdN HH:MM" (N business days ago, local time of the account),
# "-2h30m" (that long before now) or "+45m" (that long after the previous step).


@dataclass(frozen=True)
class LocalTime:
    """A detail field holding a local date-time relative to the opening, the way
    the case form stores it (ISO format, the account's wall-clock time)."""

    offset: str

    def render(self, opened: datetime, zone: ZoneInfo) -> str:
        sign = -1 if self.offset.startswith("-") else 1
        moment = opened + sign * _delta(self.offset.lstrip("+-"))
        local = moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
        return local.replace(second=0, microsecond=0).isoformat()


@dataclass(frozen=True)
class UtcTime(LocalTime):
    """Like LocalTime, in UTC: the remediation form asks for first and last seen in UTC."""

    def render(self, opened: datetime, zone: ZoneInfo) -> str:
        return super().render(opened, ZoneInfo("UTC"))


@dataclass(frozen=True)
class LocalDate(LocalTime):
    """A date field (the planning form's "needed by"), stored as an ISO date."""

    def render(self, opened: datetime, zone: ZoneInfo) -> str:
        return super().render(opened, zone)[:10]


@dataclass(frozen=True)
class PlanRef:
    """The saved warm-up plan a planning request was opened with (a key of PLANS),
    stored the way the planning form stores it: its name for reading, its id for a link."""

    key: str


@dataclass
class Script:
    requester: str
    kind: Kind
    subject: str
    opened: str
    description: str
    details: dict = field(default_factory=dict)
    files: tuple[services.NewFile, ...] = ()
    # (moment, actor, action, *arguments); actions are the keys of ACTIONS.
    steps: list[tuple] = field(default_factory=list)


def _remediation(smtp_responses: str, **fields) -> dict:
    """A remediation request's details as the form stores them, with the reply codes
    the form picks out of the responses (``smtp_codes``) for the agent."""
    replies = remediation.parse_smtp_responses(smtp_responses)
    return {**fields, "smtp_responses": smtp_responses, "smtp_codes": [r.summary for r in replies]}


MICROSOFT_S3140 = (
    "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your Internet "
    "service provider since part of their network is on our block list (S3140). You can also "
    "refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors."
)

# What Globex's two remediation requests say alike: the promotions stream on its
# dedicated pool, authenticated, single opt-in, without one-click unsubscribe.
GLOBEX_PROMO = dict(
    ip_scope="dedicated",
    sending_domain="promo.globex-retail.example",
    dkim_domain="promo.globex-retail.example",
    return_path_domain="return.delivery.example",
    mail_type="marketing",
    opt_in="single",
    blocklist_status="not_listed",
    spf="pass",
    dkim="pass",
    dmarc="none",
    fcrdns="pass",
    tls="pass",
    one_click="fail",
)


CASES: list[Script] = [
    # --- bug ---------------------------------------------------------------------
    Script(
        "priya", Kind.BUG,
        "Click-tracking links on track.acme-mail.example intermittently return 502",
        "-1h25m",
        _md("""
            For a few hours now roughly one click in ten on tracked links in our
            newsletters ends on a **502 Bad Gateway** page served by
            `track.acme-mail.example` instead of redirecting to the product page.
            Reloading the same link usually works.

            Our CDN is not involved for that host name (it points straight at
            your tracking CNAME), so we think the error comes from your side.
        """),
        details={
            "channel": "other",
            "steps": "Open the latest 'Winter sale' newsletter and click product links, "
                     "about 20 times on desktop or mobile.",
            "expected": "A redirect (302) to shop.acme-mail.example.",
            "actual": "About 1 in 10 clicks shows '502 Bad Gateway' after about 10 seconds.",
            "request_ids": "Message ids 0b7e5d2a-61c4-4f1e-9a4b-5b2c7d8e9f01, "
                           "4a1f0c33-2e7b-4d9a-8c51-7f3e2b9a6d12",
        },
        steps=[
            ("+22m", "priya", "reply", _md("""
                Adding one detail: it also happens on links from the October
                newsletter, so it is not specific to the latest campaign. The failing
                responses carry `server: track-edge` in their headers.
            """)),
        ],
    ),
    Script(
        "ana", Kind.BUG,
        "Gmail defers a third of our newsletter with 421 4.7.28 since the pool change",
        "bd9 08:52",
        _md("""
            Since yesterday's newsletter about **30% of messages to gmail.com are
            deferred** and many arrive hours late. Nothing changed in our content or
            lists. What did change: last week we moved the newsletter stream to the
            new dedicated pool `acme-bulk-2` (198.51.100.21 to .24).

            A typical reply in the message events:

            ```
            421 4.7.28 [198.51.100.22] Gmail has detected an unusual rate of mail
            from this IP; it has been temporarily rate limited.
            ```

            Is something wrong with the new pool? The old one never had this.
        """),
        details={
            "channel": "both",
            "steps": "Newsletter of 1.2 million recipients, injected over the API between "
                     "07:00 and 08:30 CET.",
            "expected": "Delivered to Gmail within an hour, as before the pool change.",
            "actual": "About 30% deferred with 421 4.7.28; some still queued after 6 hours.",
            "request_ids": "Campaign 2211-newsletter-week47",
        },
        steps=[
            ("+38m", "agent", "take"),
            ("+12m", "agent", "reply", _md("""
                Hello Ana, thank you for the detailed report. I'm Aidan and I'll own
                this case.

                `421 4.7.28` is Gmail **rate limiting an IP** because of its volume or
                reputation. It is temporary: we keep retrying every deferred message,
                so nothing is lost, but delivery is slowed. The pool itself is healthy;
                the likely cause is that `acme-bulk-2` is only a few days old, and Gmail
                does not yet trust it with 1.2 million messages in 90 minutes.

                I'm checking the pool's history now and will come back to you within
                the hour.
            """)),
            ("+6m", "agent", "note", _md("""
                acme-bulk-2 created 9 days ago. No warm-up plan attached, automated
                warm-up off. Whole newsletter (1.2M, about 55% Gmail) moved in one go
                on day 6. Looping in Tess.
            """)),
            ("+20m", "agent", "info", _md("""
                To see how far the new IPs are from where Gmail wants them, could you
                send us:

                1. your daily volume to gmail.com **before** and **after** the move;
                2. which list segment the newsletter went to (everyone, or engaged
                   recipients only);
                3. the spam rate and IP reputation from **Google Postmaster Tools**
                   for the last 14 days, if you have access.
            """)),
            ("bd9 13:40", "ana", "reply", _md("""
                Here you go:

                1. Before: about 650,000 a day to Gmail, all on `acme-bulk-1`. After:
                   the same volume, all on `acme-bulk-2`.
                2. Everyone on the newsletter list, 1.2 million in total.
                3. Export attached. Spam rate 0.12% yesterday; IP reputation shows
                   "Bad" for .22 and .23 since the day after the move.
            """), [_file("postmaster-tools-export.csv", "text/csv", """
                days_after_move,domain_reputation,ip,ip_reputation,spam_rate
                0,HIGH,198.51.100.21,MEDIUM,0.0004
                0,HIGH,198.51.100.22,MEDIUM,0.0005
                1,MEDIUM,198.51.100.22,BAD,0.0012
                1,MEDIUM,198.51.100.23,BAD,0.0011
            """)]),
            ("+35m", "tam", "note", _md("""
                Classic cold-pool move. I'll call Ana: move most of the newsletter back
                to acme-bulk-1 today and ramp acme-bulk-2 on the schedule, engaged
                recipients only for the first two weeks.
            """)),
            ("bd9 16:05", "tam", "reply", _md("""
                Ana, thanks for the call just now. A summary of what we agreed:

                - Today, **80% of the newsletter goes back to `acme-bulk-1`**, which is
                  warm. Only 20% stays on `acme-bulk-2`.
                - From the next send `acme-bulk-2` follows the
                  [warm-up schedule](/kb/ip-warm-up-schedule) from day 8: 40,000 per
                  IP per day, so 160,000 for the pool, rising daily.
                - For the first two weeks, the new pool only gets recipients who
                  opened or clicked in the last 30 days.

                Aidan stays the owner of this case and will post the daily figures here.
            """)),
            ("+40m", "ana", "reply", "Done: the split is live since 16:30. Thank you both."),
            ("+25m", "marek", "reply", _md("""
                Marek from Acme's mail operations here. For completeness: our MTA
                routes by pool name, so moving traffic back is a config change on our
                side we can repeat at any time. Tell us if you want another split.
            """)),
            ("bd8 09:15", "agent", "reply", _md("""
                Overnight figures for Gmail:

                | Pool | Sent | Deferred with 4.7.28 |
                |---|---:|---:|
                | acme-bulk-1 | 512,300 | 0.3% |
                | acme-bulk-2 | 131,900 | 9.1% |

                Everything deferred so far has now been delivered. The new pool is
                still deferred more than we like, so we keep it at day 8 for today.
            """)),
            ("+1h5m", "ana", "reply", _md("""
                Thanks. This morning's digest (sent at 08:00) still shows a lot of
                deferrals on the new pool. Anything else we can do?
            """)),
            ("+25m", "agent", "info", _md("""
                Could you paste **four or five complete deferral replies** from the
                digest, each with its UTC timestamp and the sending IP? The wording
                after `4.7.28` and the times will tell us whether Gmail is reacting to
                volume or to the connection rate.
            """)),
            ("bd8 14:10", "ana", "reply", "Attached, taken from the message events export.",
             [_file("gmail-deferrals.txt", "text/plain", """
                07:02:11 UTC 198.51.100.22 421 4.7.28 rate limited, unusual rate of mail
                07:02:14 UTC 198.51.100.23 421 4.7.28 rate limited, unusual rate of mail
                07:03:40 UTC 198.51.100.22 421 4.7.28 rate limited, unusual rate of mail
                07:31:05 UTC 198.51.100.24 421 4.7.28 rate limited, unusual rate of mail
                08:10:52 UTC 198.51.100.21 421 4.7.28 rate limited, unusual rate of mail
             """)]),
            ("+50m", "agent", "note", _md("""
                Deferrals cluster in the first minutes of each send: 20 parallel
                connections per IP to Gmail on a day-9 IP is too many. Lowering to 5
                per IP with the 10-minute back-off on 4.7.28.
            """)),
            ("+30m", "agent", "reply", _md("""
                The replies show the deferrals bunch up in the **first minutes of each
                send**: Gmail objects to the connection rate as much as to the volume.
                So we changed two things on `acme-bulk-2` for Gmail:

                - at most **5 concurrent connections per IP** (was 20);
                - after a `4.7.28`, the IP **pauses 10 minutes**, then reopens
                  connections one at a time.

                Your sends will take a little longer to drain, but far fewer messages
                should be deferred.
            """)),
            ("bd7 09:30", "ana", "reply", _md("""
                This morning's send looks much better already. One question: our
                marketing team asks whether "opened or clicked in the last 30 days"
                includes people who only clicked in an app push, not an email.
            """)),
            ("+1h10m", "tam", "reply", _md("""
                Good question. Count **email engagement only**: Gmail judges the new
                IPs by how its users treat your mail, so someone who opens your app
                but ignores your email is no help to the pool's reputation. From week 3
                you can widen to 60 days, and nobody inactive for more than 90 days
                should go through the new pool in the first 6 weeks.
            """)),
            ("bd7 15:00", "agent", "reply", _md("""
                Day 10 figures: acme-bulk-2 sent 300,000 to Gmail (75,000 per IP),
                **1.8% deferred**, all delivered within 40 minutes.
            """)),
            ("bd6 10:20", "agent", "reply", _md("""
                Day 11: 400,000 sent through the new pool, 1.1% deferred. Postmaster
                Tools shows the IP reputation of .22 and .23 back at "Medium".
            """)),
            ("+35m", "ana", "reply", "Great news, thank you for the daily numbers."),
            ("bd5 11:00", "agent", "propose", _md("""
                Gmail deferrals on `acme-bulk-2` have stayed **under 2% for three days**
                and every deferred message was delivered within the hour. The cause was
                moving the whole newsletter to a new pool at once; the pool now follows
                the warm-up schedule with engaged recipients only.

                I propose we resolve this case. Tess will keep reviewing the warm-up
                with you until the pool carries the whole newsletter.
            """)),
            ("+40m", "ana", "reply", _md("""
                Thanks. Our next promotional send is a large one; we'd like to see it
                go through before we accept.
            """)),
            ("bd4 10:40", "ana", "dispute", _md("""
                Today's promotional send hit **12% deferrals at Gmail** again between
                09:00 and 10:00, on the new pool only. So it is not solved yet.
            """)),
            ("+30m", "agent", "note", _md("""
                Promo was 600k to Gmail, all on acme-bulk-2, on day 13 of the schedule:
                allowance is 200k per IP, 800k for 4 IPs, so volume was within the day's
                figure but sent in 25 minutes. Recommend automated warm-up with
                acme-bulk-1 as overflow so bursts cannot exceed the stage.
            """)),
            ("+1h", "agent", "reply", _md("""
                You're right, and thank you for flagging it quickly. The promotional
                send put 600,000 Gmail messages through the new pool in 25 minutes.
                That is within the day's allowance for four IPs on day 13, but the
                burst came on top of the morning digest and Gmail pushed back.

                Proposal: we switch `acme-bulk-2` to **automated warm-up**. It advances
                one stage a day only when the pool delivered over 90% of the stage's
                target, and anything above the stage goes out through `acme-bulk-1` as
                overflow, so no message waits for the new pool. Shall we?
            """)),
            ("+15m", "ana", "reply", "Yes please, go ahead."),
            ("+20m", "agent", "note", "Engineering ticket WARM-311 to enable automated warm-up "
                                      "on acme-bulk-2, overflow acme-bulk-1."),
            ("bd3 09:05", "agent", "reply", _md("""
                Automated warm-up is **on** for `acme-bulk-2` since 08:40, starting at
                stage 13, with `acme-bulk-1` as the overflow pool. You don't need to
                change anything in your sends.
            """)),
            ("+25m", "ana", "reply", "Thanks, we'll watch the next promo."),
            ("+2h", "marek", "reply", _md("""
                Question from operations: does the overflow count against the daily
                volume of `acme-bulk-1`? That pool also carries our receipts and we
                don't want those delayed.
            """)),
            ("+50m", "agent", "reply", _md("""
                It does count, but `acme-bulk-1` is fully warm and runs at about 40% of
                what it could carry, so receipts are not at risk. If you prefer, we can
                move receipts to their own pool later; that would be a separate
                configuration request.
            """)),
            ("bd2 09:20", "agent", "reply", _md("""
                The latest promo: 640,000 to Gmail; 520,000 through the new pool, the
                rest through overflow. **0.8% deferred**, everything delivered within
                25 minutes.
            """)),
            ("+2h", "ana", "reply", _md("""
                Confirmed on our side. One worry: Postmaster Tools shows our **domain**
                reputation as "Medium" this week, down from "High". Is that the IPs too?
            """)),
            ("+45m", "tam", "reply", _md("""
                Domain reputation follows your mail wherever it goes, so it reflects
                the two rough weeks, not the pool. The figure to watch is the **spam
                rate**: it was 0.12% on the days of the big sends. Gmail aims for under
                0.1% and you must never reach 0.3%. With engaged-only segments it
                should fall, and the domain reputation follows within a week or two.
            """)),
            ("+15m", "agent", "info", _md("""
                While we're at it: could you paste the headers of one promotional
                message as received at Gmail (*Show original*)? I'd like to confirm the
                one-click unsubscribe headers are there; a missing one-click link often
                turns unsubscribes into spam complaints.
            """)),
            ("bd1 10:05", "ana", "reply", _md("""
                Here are the relevant headers:

                ```
                List-Unsubscribe: <https://go.acme-mail.example/u/7Hc2Qx>, <mailto:unsub@acme-mail.example?subject=7Hc2Qx>
                List-Unsubscribe-Post: List-Unsubscribe=One-Click
                DKIM-Signature: v=1; a=rsa-sha256; d=acme-mail.example; s=acme1;
                    h=from:to:subject:date:list-unsubscribe:list-unsubscribe-post; ...
                Authentication-Results: mx.google.com; dkim=pass header.s=acme1;
                    spf=pass; dmarc=pass (p=QUARANTINE) header.from=acme-mail.example
                ```
            """)),
            ("+40m", "agent", "reply", _md("""
                Those are exactly right: an https URL, the `List-Unsubscribe-Post`
                header, both covered by the DKIM signature, and DMARC passes aligned.
                Nothing to change there.
            """)),
            ("+1h30m", "ana", "reply", "Spam rate in Postmaster Tools is down to 0.07% this week."),
            ("+30m", "tam", "note", "Review call with Ana and Marek booked in two days: "
                                    "plan the last 20% of the newsletter onto acme-bulk-2."),
            ("bd1 16:50", "agent", "reply", _md("""
                Status at the end of today:

                - `acme-bulk-2` is at stage 17 (500,000 per IP), advancing daily;
                - Gmail deferrals on the pool: **0.6%** over the last 24 hours;
                - spam rate 0.07%, IP reputation "High" on three of four IPs.

                Tess reviews the last step with you in the review call. If the figures hold
                until then, I'll propose resolving this case again.
            """)),
        ],
    ),
    Script(
        "sari", Kind.BUG,
        "Suppression list export fails with 500 beyond about 100,000 entries",
        "bd2 10:15",
        _md("""
            We page through our suppression list with the API to copy it into our
            CRM every night. Since last week the export stops at about 100,000
            entries: the next page answers **HTTP 500**. The list has about
            240,000 entries in total. Smaller subaccounts export fine.
        """),
        details={
            "channel": "api",
            "steps": "GET /api/v1/suppression-list?per_page=5000, then follow the cursor "
                     "of each page.",
            "expected": "All 240,000 entries in pages of 5,000.",
            "actual": 'Page 21 answers 500 {"errors":[{"message":"internal error"}]} every time.',
            "request_ids": "req_7f3a91c2e4, req_7f3a9b0d11, req_80c1d2e3f4",
        },
        steps=[
            ("+50m", "mina", "take"),
            ("+15m", "mina", "reply", _md("""
                Thank you, Sari. I can see the three failed requests in our logs, all
                on the same cursor. I'm looking into why that page fails and will
                update you here.
            """)),
            ("+2h", "mina", "note", _md("""
                Cursor encodes (created_at, id). Page 21 starts at a batch of 3,000
                entries imported in one second. Suspect the cursor comparison; need the
                customer's cursor value and filters to reproduce.
            """)),
            ("bd1 09:20", "mina", "info", _md("""
                To reproduce it exactly, could you send:

                1. the `cursor` value of the **last page that worked** (page 20);
                2. the full query string you use, including any `types=` or `from=`
                   filters;
                3. whether the nightly job runs more than one export at the same time.
            """)),
        ],
    ),
    Script(
        "bo", Kind.BUG,
        "Webhook batches delivered twice, with the same event ids",
        "bd5 09:10",
        _md("""
            For two days about **4% of webhook batches arrive twice**, 30 to 40
            seconds apart, with identical event ids. Our endpoint answers 200 to
            both. We count opens and clicks from these events, so our reports are
            now inflated.
        """),
        details={
            "channel": "api",
            "steps": "Webhook 'globex-events' to https://hooks.globex-retail.example/mail, "
                     "all event types, batches of up to 1,000 events.",
            "expected": "Each event delivered once, or retried only when we did not answer 2xx.",
            "actual": "About 4% of batches delivered twice, same X-Batch-Id, both answered 200.",
            "request_ids": "Batch ids 9c1e44a0, 9c1e5b72, 9c20a913",
        },
        steps=[
            ("+25m", "mina", "take"),
            ("+10m", "mina", "reply", _md("""
                Hello Bo, thanks for the batch ids. Our webhook sender retries a batch
                when it does not receive a 2xx **within 10 seconds**. Could a slow
                answer from your endpoint explain the repeats? If you have access logs
                for those three batches, they would settle it.
            """)),
            ("+2h", "bo", "reply", "Our endpoint answers in 2.1 s at p99. Access log excerpt attached.",
             [_file("webhook-access-log.txt", "text/plain", """
                02:14:07.118Z POST /mail 200 1843ms batch=9c1e44a0
                02:14:41.502Z POST /mail 200  912ms batch=9c1e44a0
                05:40:19.774Z POST /mail 200 1611ms batch=9c1e5b72
                05:40:55.020Z POST /mail 200  730ms batch=9c1e5b72
             """)]),
            ("+40m", "mina", "note", _md("""
                Customer's log: 200 after 1.8 s, still retried. So it is ours. The last
                deploy of the webhook sender changed the ack timeout handling.
                Filed ENG-4471 with the three batch ids.
            """)),
            ("bd4 11:00", "mina", "reply", _md("""
                You were right: this is on our side. The latest release of the webhook
                sender sometimes treats an answer that takes **more than 1.5 seconds**
                as a timeout and sends the batch again. Engineering has a fix in review.

                Until it is deployed, you can safely ignore a batch whose `X-Batch-Id`
                you have already processed; every event also carries a unique
                `event_id` to deduplicate on.
            """)),
            ("+1h30m", "bo", "reply", "We now drop events whose event_id we have seen. "
                                      "Please tell us when the fix is live."),
            ("bd2 10:30", "mina", "reply", _md("""
                The fix was deployed at **09:40 WIB** today. Since then our monitoring
                shows no repeated batch for any customer.
            """)),
            ("+5m", "mina", "propose", _md("""
                Fixed: the webhook sender again waits the full 10 seconds for your
                answer and retries only batches that were not acknowledged. Deployed
                today at 09:40 WIB.

                Please check your side over the next day; if you still see a repeated
                batch, dispute this and send its id.
            """)),
            ("bd1 14:00", "bo", "reply", _md("""
                No duplicates in 28 hours on our side either. We'd like to see the
                weekend batches through before we accept.
            """)),
        ],
    ),
    Script(
        "marek", Kind.BUG,
        "Bounce classification treats 452 4.2.2 (mailbox full) as a hard bounce",
        "bd14 10:30",
        _md("""
            Since the reporting update last month, messages refused with
            `452 4.2.2 mailbox full` show up as **hard bounces** in the dashboard,
            and the addresses land on our suppression list. A full mailbox is a
            temporary condition; these people should not be suppressed.
        """),
        details={
            "channel": "portal",
            "steps": "Dashboard > Events > filter 'bounce', look at bounce class and reason.",
            "expected": "Soft bounce (class 'mailbox full'), no suppression.",
            "actual": "Hard bounce, address added to the suppression list.",
            "request_ids": "Message ids 1c0d9e8f-aa21-4b77-9f00-3e5d6c7b8a90, "
                           "7e6f5a4b-3c2d-4e1f-8a9b-0c1d2e3f4a5b",
        },
        steps=[
            ("+45m", "agent", "take"),
            ("+20m", "agent", "reply", _md("""
                Thank you, Marek. You're right that `4.2.2` is temporary by
                definition: the class digit **4** says "try again later". I'm checking
                how these two messages were classified.
            """)),
            ("+1h10m", "agent", "info", _md("""
                Both examples are to Microsoft domains. Could you tell us roughly how
                many addresses were suppressed this way, and whether you see it for
                other providers too? A few more message ids would help.
            """)),
            ("bd13 09:40", "marek", "reply", _md("""
                About 1,200 addresses since 3 November, as far as we can tell all at
                outlook.com and hotmail.com. Five more ids are in the attachment.
            """), [_file("mailbox-full-examples.txt", "text/plain", """
                3f2e1d0c-9b8a-4766-b5a4-3210fedcba98  outlook.com  452 4.2.2 mailbox full
                8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d  hotmail.com  452 4.2.2 mailbox full
                0f1e2d3c-4b5a-4697-8877-665544332211  outlook.com  452 4.2.2 mailbox full
                5566aa77-bb88-4c99-8d00-e1f2a3b4c5d6  live.com     452 4.2.2 mailbox full
                9988ffee-ddcc-4bba-a998-877665544332  outlook.com  452 4.2.2 mailbox full
             """)]),
            ("+1h", "agent", "note", "Rule for Microsoft 'mailbox full' matches the text and "
                                     "ignores the reply class. BUG-2290, fix in the next release."),
            ("+30m", "agent", "reply", _md("""
                Found it: a classification rule for Microsoft's mailbox-full reply
                matched on the text and ignored the reply class, so `452 4.2.2` was
                treated like a permanent `5.2.2`. The fix ships in **the next
                release**.

                We will also remove the 1,204 addresses that were suppressed only
                because of this rule from your suppression list.
            """)),
            ("bd10 14:15", "agent", "propose", _md("""
                Fixed in today's release: `4.2.2` replies are classified as soft
                bounces again and no longer suppress the address. The **1,204
                addresses** wrongly suppressed since 3 November were removed from your
                suppression list this morning (list attached to the internal ticket;
                ask if you want a copy).
            """)),
            ("bd9 09:30", "marek", "accept"),
        ],
    ),
    # --- configuration -------------------------------------------------------------
    Script(
        "dewi", Kind.CONFIGURATION,
        "Add one-click unsubscribe headers to the promotions stream",
        "-3h10m",
        _md("""
            Please add **one-click unsubscribe** headers to every message of the
            `promotions` stream on sending domain `promo.globex-retail.example`,
            pointing at our own endpoint. We already honour the POST on that URL.
        """),
        details={
            "area": "other",
            "change": "Stream 'promotions', domain promo.globex-retail.example: add "
                      "List-Unsubscribe: <https://promo.globex-retail.example/u/{{token}}> and "
                      "List-Unsubscribe-Post: List-Unsubscribe=One-Click, covered by DKIM.",
            "wanted_by": LocalTime("+2d"),
        },
    ),
    Script(
        "marek", Kind.CONFIGURATION,
        "Rotate the DKIM key of acme-mail.example to a new 2048-bit selector",
        "bd3 09:05",
        _md("""
            Our yearly key rotation is due. Please generate a new **2048-bit** DKIM
            key for `acme-mail.example` under a new selector (we'd like `s2026b`),
            send us the TXT record to publish, and switch signing once it resolves.
            Keep the current selector `acme1` published for a week, then we revoke it.
        """),
        details={
            "area": "sending_domain",
            "change": "New 2048-bit DKIM key for acme-mail.example, selector s2026b; switch "
                      "signing after publication; old selector acme1 revoked after 7 days.",
            "wanted_by": LocalTime("+7d"),
        },
        steps=[
            ("+30m", "agent", "take"),
            ("+20m", "agent", "reply", _md("""
                Here is the record for the new key. Please publish it exactly as it is
                (the key is split into two strings, which is normal):

                ```
                s2026b._domainkey.acme-mail.example. 3600 IN TXT (
                  "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAy3x"
                  "Qv8W1mZ0cT7s9kP2dL4rN6bH5jF0aE3uY8iO1wV7qR2tS9nM4kJ6hG5fD3aB1cIDAQAB" )
                ```

                Tell us when it is live; we'll verify it from outside and agree the
                moment to switch signing.
            """)),
            ("bd2 11:20", "marek", "reply", "Published at 11:05 with a TTL of 300."),
            ("+25m", "agent", "note", "s2026b resolves from 3 external resolvers, key matches "
                                      "the private key in the signing service."),
            ("+10m", "agent", "reply", _md("""
                The record resolves correctly. Shall we switch signing at **09:00 CET
                on the next working day**, before your morning sends?
            """)),
            ("+40m", "marek", "reply", "Yes, 09:00 CET works for us."),
            ("bd1 09:10", "agent", "reply", _md("""
                Signing switched to `s2026b` at 09:02 CET. Our test message to Gmail
                shows `dkim=pass header.s=s2026b` and `dmarc=pass`.

                The old selector `acme1` should stay published **for another seven days**
                so that deferred mail signed with it still verifies. I'll remind you
                here before you revoke it.
            """)),
        ],
    ),
    Script(
        "sari", Kind.CONFIGURATION,
        "Custom bounce domain bounce.globex-retail.example for transactional mail",
        "bd4 13:30",
        _md("""
            Our DMARC reports show transactional mail passing DMARC through DKIM
            only, because the Return-Path is still your shared bounce domain. Please
            set up `bounce.globex-retail.example` as the Return-Path domain of the
            `transactional` stream so SPF aligns as well.
        """),
        details={
            "area": "sending_domain",
            "change": "Return-Path domain bounce.globex-retail.example for stream "
                      "'transactional' of globex-retail.example.",
        },
        steps=[
            ("+1h", "mina", "take"),
            ("+15m", "mina", "reply", _md("""
                Happy to. Please publish this record in your zone:

                ```
                bounce.globex-retail.example. 3600 IN CNAME return.delivery.example.
                ```

                It points bounces at our processing and brings our SPF record with it,
                so SPF passes aligned for `globex-retail.example`. Let me know once it
                is published.
            """)),
            ("bd3 10:05", "sari", "reply", "Published, shortly after your message."),
            ("+30m", "mina", "note", "NXDOMAIN from 8.8.8.8, 1.1.1.1 and our resolvers. "
                                     "Their NS is split-horizon; probably internal view only."),
            ("+5m", "mina", "info", _md("""
                From outside your network, `bounce.globex-retail.example` still answers
                **NXDOMAIN** (checked through three public resolvers):

                ```
                $ dig +short CNAME bounce.globex-retail.example @1.1.1.1
                $
                ```

                Could the record have gone into an internal view of your DNS only?
                Please check with your DNS team and tell us when it resolves publicly.
            """)),
        ],
    ),
    Script(
        "ana", Kind.CONFIGURATION,
        "Raise our SMTP concurrent connection limit from 50 to 150 for the sale week",
        "bd3 14:00",
        _md("""
            For the sale week we expect three times our normal volume. Please allow
            up to **150 concurrent SMTP connections** from our relays
            (203.0.113.40 to .43) instead of 50, for the seven days of the sale.
        """),
        details={
            "area": "limits",
            "change": "SMTP injection: 150 concurrent connections (now 50) from 203.0.113.40-43, "
                      "for seven days from the switch.",
            "wanted_by": LocalTime("+2d"),
        },
        steps=[
            ("+40m", "agent", "take"),
            ("+15m", "agent", "note", "Capacity OK per infra dashboard; asking Tess because it "
                                      "interacts with the acme-bulk-2 warm-up."),
            ("+30m", "tam", "reply", _md("""
                Ana, the capacity is there, so we can do this. One thing to keep in
                mind: this limit is how fast **you can hand mail to us**. How fast we
                pass it to Gmail and the others still follows each pool's reputation
                and the warm-up of `acme-bulk-2`, so a bigger queue on our side during
                peaks is expected and harmless.
            """)),
            ("+20m", "ana", "reply", "Understood, thanks Tess. Please go ahead."),
            ("bd2 14:05", "agent", "reply", _md("""
                The limit is **150 concurrent connections** from 203.0.113.40-43 since
                14:00 CET. A 151st connection gets `421 4.7.0 too many connections`,
                which your relays will retry.
            """)),
            ("+10m", "agent", "propose", _md("""
                Done: 150 concurrent SMTP connections from your four relays, in force
                for seven days, until 14:00 CET on the same weekday next week, when it
                returns to 50 by itself.
            """)),
        ],
    ),
    Script(
        "bo", Kind.CONFIGURATION,
        "Move the marketing stream to the dedicated pool globex-promo",
        "bd12 09:00",
        _md("""
            Our dedicated pool `globex-promo` has been warming up for four weeks.
            Please move the **marketing** stream onto it; transactional mail stays on
            the shared pool for now.
        """),
        details={
            "area": "ip_pool",
            "change": "Stream 'marketing' from shared pool to dedicated pool globex-promo "
                      "(198.51.100.51-53).",
        },
        steps=[
            ("+35m", "mina", "take"),
            ("+20m", "mina", "reply", _md("""
                `globex-promo` is at **stage 24** of its warm-up, which allows about
                3,000,000 messages per IP per day; your marketing stream peaks at
                1.4 million a day across three IPs, well within it.
            """)),
            ("+5m", "mina", "info", "Which sending domains does the marketing stream use? "
                                    "Only promo.globex-retail.example, or the main domain too?"),
            ("+3h", "bo", "reply", "Only promo.globex-retail.example."),
            ("+30m", "tam", "reply", _md("""
                Suggestion: switch **early on a newsletter morning**, before the
                newsletter rather than during it, and watch Gmail and Yahoo deferrals for the
                first two sends.
            """)),
            ("+15m", "bo", "reply", "08:00 WIB on the next newsletter day, then."),
            ("bd10 08:10", "mina", "reply", "Switched at 08:05 WIB. The newsletter at 10:00 "
                                            "will be the first send through globex-promo."),
            ("+4h", "mina", "propose", _md("""
                The marketing stream of `promo.globex-retail.example` now goes through
                `globex-promo`. First newsletter: 1.38 million delivered, deferrals
                0.4% at Gmail and 0.2% at Yahoo, all retried successfully.
            """)),
            ("+1h", "bo", "accept"),
        ],
    ),
    # --- information ---------------------------------------------------------------
    Script(
        "priya", Kind.INFORMATION,
        "Do Microsoft's May 2025 bulk-sender rules apply to our transactional stream?",
        "-5h20m",
        _md("""
            We send about 60,000 receipts and shipping notices a day to Outlook.com
            and Hotmail addresses. Do Microsoft's bulk-sender requirements apply to
            this stream, and in particular do receipts need one-click unsubscribe?
        """),
        details={"topic": "deliverability"},
    ),
    Script(
        "bo", Kind.INFORMATION,
        "Question about the warm-up schedule for our two new IPs",
        "bd3 14:20",
        _md("""
            We received two new dedicated IPs (198.51.100.61 and .62) for our
            loyalty programme mail: about **900,000 messages a day**, mostly to Gmail
            and Yahoo.

            The warm-up guide gives volumes "per IP per day". Does day 1 mean 200
            messages per IP, or 200 in total? And can we send to the whole list from
            the start if we stay under the daily figure?
        """),
        details={"topic": "deliverability"},
        steps=[
            ("+40m", "mina", "take"),
            ("+25m", "mina", "reply", _md("""
                Good questions, Bo.

                - The figures are **per IP**: with two IPs, day 1 is 400 messages in
                  total, day 2 is 1,000, and so on.
                - To carry 900,000 a day on two IPs you need 450,000 per IP, which the
                  schedule reaches between **day 16 (400,000) and day 17 (500,000)**.
                - No to the whole list: in weeks 1 and 2, send only to people who opened
                  or clicked in the last 30 days; in weeks 3 and 4, 60 days. The guide
                  has the details: [IP warm-up schedule](/kb/ip-warm-up-schedule).
            """)),
            ("bd2 09:10", "bo", "reply", _md("""
                Thanks. Our loyalty newsletter goes out **once a week**, on Thursday, to
                all 900,000 members. Can we warm up with weekly sends?
            """)),
            ("+20m", "mina", "note", "Weekly cadence cannot follow a daily schedule. "
                                     "Handing to Tess for the planning side."),
            ("+5m", "mina", "assign", "tam"),
            ("bd1 15:30", "tam", "reply", _md("""
                Hello Bo, Tess here, your TAM. A weekly send cannot warm IPs: the
                providers need to see steady daily traffic. Two options:

                1. Start the new IPs with your **daily** "points earned" notifications
                   (about 30,000 a day, well engaged) and add the Thursday newsletter
                   from week 3.
                2. Use **automated warm-up** with overflow to the shared pool: on
                   Thursdays the new IPs take their stage's volume and the rest goes
                   through the shared pool, so the newsletter still leaves on time.

                I'd suggest both together. Shall we go through it on a call tomorrow?
            """)),
        ],
    ),
    Script(
        "ana", Kind.INFORMATION,
        "What do the Yahoo 421 TS03 deferrals in our logs mean?",
        "bd2 15:10",
        _md("""
            Our logs show a few thousand deferrals a day from Yahoo like this one:

            ```
            421 4.7.0 [TS03] Messages from 198.51.100.21 temporarily deferred
            ```

            Should we worry? Everything seems to be delivered in the end.
        """),
        details={"topic": "deliverability"},
        steps=[
            ("+30m", "agent", "take"),
            ("+25m", "agent", "reply", _md("""
                `TS03` is one of Yahoo's temporary deferral codes: Yahoo slows down an
                IP whose reputation or volume it is unsure of, and accepts the mail
                on a later attempt. We retry automatically, which is why it gets
                delivered in the end.

                A few thousand a day is worth watching on a pool that is still warming
                up, like `acme-bulk-2`.
            """)),
            ("+10m", "agent", "info", _md("""
                To tell whether it's volume or reputation, could you send:

                1. four or five complete replies with their UTC timestamps;
                2. the sending IPs they come from (all on the new pool, or both?);
                3. your daily volume to Yahoo domains this week and last week.
            """)),
        ],
    ),
    Script(
        "sari", Kind.INFORMATION,
        "How is monthly availability calculated in the SLA report?",
        "bd4 10:00",
        _md("""
            Our finance team asks how the availability figure in the monthly SLA
            report is calculated. Last month shows **99.994%**, but we remember a
            30-minute period with API errors. How can both be true?
        """),
        details={"topic": "billing"},
        steps=[
            ("+1h", "mina", "take"),
            ("+20m", "mina", "reply", _md("""
                Availability is measured **per second**:

                uptime = 100% x (1 - U / (S - E))

                where **U** is the number of unavailable seconds, **S** the seconds in
                the month and **E** the excluded seconds (announced maintenance).

                A second is unavailable only when you made API calls and **all** of
                them failed on our side (a timeout or a 5xx), or you made SMTP
                injections and all of them failed that way. During the 30 minutes you
                remember, most calls succeeded, so most of those seconds counted as
                available. At 99.99%, a 30-day month allows 259.2 unavailable seconds.
            """)),
            ("bd3 11:15", "sari", "reply", _md("""
                Thanks. Two follow-ups: does a second in which we make no calls count
                as available? And do `429` rate-limit answers count as failures?
            """)),
            ("+45m", "mina", "reply", _md("""
                - A second without any attempt is **available**: there was nothing to
                  fail.
                - `429` (and `420` on SMTP) are answers to the client, not server-side
                  failures, so they **do not** make a second unavailable. The same goes
                  for other `4xx` API answers such as a wrong key.
            """)),
            ("+10m", "mina", "propose", _md("""
                The report counts unavailable seconds as described above: all attempts
                failing on our side in that second, for the API or for SMTP. Your
                99.994% is consistent with the partial errors you saw. If finance wants
                the per-second data of that period, reply and we'll export it.
            """)),
        ],
    ),
    Script(
        "marek", Kind.INFORMATION,
        "Is 192.0.2.45 listed on SpamCop? A customer forwarded a rejection",
        "bd8 11:00",
        _md("""
            One of our B2B customers forwarded a rejection that mentions
            `bl.spamcop.net` and our IP **192.0.2.45** (pool `acme-bulk-1`). Is the
            IP listed, and what should we do?
        """),
        details={"topic": "deliverability"},
        steps=[
            ("+30m", "agent", "take"),
            ("+25m", "agent", "reply", _md("""
                Yes: our blocklist monitor has seen `192.0.2.45` on **SpamCop** since
                02:10 UTC today. None of the other lists we watch (Spamhaus ZEN,
                Barracuda, PSBL) list it.

                SpamCop listings come from recipient reports and **expire by
                themselves 12 to 48 hours after the reports stop**; there is no
                removal form. The reports we can see all concern last night's
                re-engagement campaign to addresses inactive for over a year.
            """)),
            ("+1h", "marek", "reply", "We've paused the re-engagement segment. Thanks for the "
                                      "quick answer."),
            ("bd7 10:00", "agent", "reply", "The listing expired at 04:00 UTC this morning; "
                                            "192.0.2.45 is on no list we monitor."),
            ("+5m", "agent", "propose", _md("""
                192.0.2.45 was listed on SpamCop because of complaints about the
                re-engagement campaign; the listing expired on its own after the
                segment was paused. See the guide on
                [blocklists](/kb/when-you-are-listed) for re-engaging old addresses
                more safely.
            """)),
            ("+2h", "marek", "accept"),
        ],
    ),
    # --- critical ------------------------------------------------------------------
    Script(
        "priya", Kind.CRITICAL,
        "All SMTP injections rejected with 454 4.7.0 TLS not available",
        "-8m",
        _md("""
            Every SMTP connection from our relays to `smtp.delivery.example:587`
            fails at STARTTLS with `454 4.7.0 TLS not available due to local
            problem`. Our relays require TLS, so **nothing is going out** over SMTP.
            The API still works. I am calling the hotline now.
        """),
        details={
            "channel": "smtp",
            "since": LocalTime("-12m"),
            "errors": "454 4.7.0 TLS not available due to local problem (all 4 relays, "
                      "every connection)",
            "contact_phone": "+44 20 7946 0321",
        },
        steps=[
            # Logged a few minutes ago: the 15-minute callback countdown is running.
            ("+3m", "agent", "intake", _md("""
                Hotline intake: Acme Mail, Priya Raman, +44 20 7946 0321,
                priya@acme.example. "STARTTLS fails on all four relays, SMTP sending stopped."
            """)),
        ],
    ),
    Script(
        "marek", Kind.CRITICAL,
        "API calls from our EU cluster all time out after 30 seconds",
        "-4h",
        _md("""
            For the last ten minutes every API call from our EU cluster
            (203.0.113.64/28) times out after 30 seconds. Calls from our office network work.
            Our mail to customers is queueing.
        """),
        details={
            "channel": "api",
            "since": LocalTime("-10m"),
            "errors": "curl: (28) Operation timed out after 30001 milliseconds with 0 bytes "
                      "received (POST https://api.delivery.example/v1/transmissions)",
            "contact_phone": "+31 20 555 0157",
        },
        steps=[
            ("+6m", "agent", "intake", _md("""
                Hotline intake: Acme Mail, Marek Novak, +31 20 555 0157,
                marek@acme.example. "All API calls from EU cluster time out for 10 min,
                office network fine."
            """)),
            ("+2m", "agent", "take"),
            ("+1m", "agent", "callback", 30),
            ("+5m", "agent", "reply", _md("""
                Marek, following my call: we see **no requests at all** from
                203.0.113.64/28 at our edge since just before your first failure, while calls from your
                office and from all other customers are served normally. That points
                at the path between your cluster and us rather than at the API.

                Agreed on the call: updates here every 30 minutes.
            """)),
            ("+30m", "agent", "update", _md("""
                Update: our network team confirms nothing is blocked or rate limited for
                your range on our side, and no routing change was made this morning.
            """)),
            ("+15m", "agent", "info", _md("""
                To find where the connections stop, please run from one host of the
                cluster and paste the output:

                ```
                curl -v https://api.delivery.example/v1/health
                mtr -rwc 20 api.delivery.example
                ```

                If your egress firewall or NAT gateway changed shortly before the
                failures began, that is the first place to look.
            """)),
        ],
    ),
    Script(
        "bo", Kind.CRITICAL,
        "Every API send call fails with 500 internal error",
        "-1h50m",
        _md("""
            For the last five minutes every `POST /v1/transmissions` answers
            `500 {"errors":[{"message":"internal error"}]}`. Nothing changed on our
            side. About 2 million messages are queued in our system.
        """),
        details={
            "channel": "api",
            "since": LocalTime("-5m"),
            "errors": '500 {"errors":[{"message":"internal error"}]} request ids '
                      "req_91ab02cd, req_91ab0f3e, req_91ab1a77",
            "contact_phone": "+62 21 555 0177",
        },
        steps=[
            ("+4m", "agent", "intake", _md("""
                Hotline intake: Globex Retail, Bo Hartono, +62 21 555 0177,
                bo@globex.example. "All API sends fail with 500 for 5 min, 2M queued."
                Callback due in 15 minutes.
            """)),
            ("+1m", "agent", "take"),
            ("+1m", "agent", "callback", 30),
            ("+8m", "agent", "reply", _md("""
                Bo, as discussed on the phone just now: we can reproduce it. All send
                calls for accounts on one of our API clusters have failed since a
                database failover just before your first error. Engineers are on it.

                Agreed: an **update here every 30 minutes** until it is resolved.
            """)),
            ("+5m", "tam", "note", "Globex's 2M backlog is their weekly loyalty send. "
                                   "I'll tell Bo's manager we're on it."),
            ("+25m", "agent", "update", _md("""
                Update 1: the failover left the API's connection pool pointing at the
                old primary, which is read-only. Engineers are restarting the API
                workers of the cluster one by one.
            """)),
            ("+10m", "bo", "reply", "Any estimate? Our loyalty newsletter is due in two hours."),
            ("+20m", "agent", "update", _md("""
                Update 2: about **40% of send calls succeed** again as workers restart.
                No estimate for the last ones yet, but your queued calls are safe to
                retry: a failed call sent nothing.
            """)),
        ],
    ),
    Script(
        "dewi", Kind.CRITICAL,
        "API sends time out (504) for every request from our Jakarta region",
        "bd1 22:40",
        _md("""
            Since 22:25 WIB every API call from our Jakarta data centre ends in
            **504 Gateway Timeout** after 60 seconds. Calls from our Singapore
            region still work. Our order confirmations are not going out.
        """),
        details={
            "channel": "api",
            "since": LocalTime("-15m"),
            "errors": "504 Gateway Timeout from api.delivery.example after 60 s, every request",
            "contact_phone": "+62 21 555 0190",
        },
        steps=[
            ("+3m", "agent", "intake", _md("""
                Hotline intake: Globex Retail, Dewi Santoso, +62 21 555 0190,
                dewi@globex.example. "All API calls from the Jakarta DC end in 504
                since 22:25 WIB."
            """)),
            ("+1m", "agent", "take"),
            ("+1m", "agent", "callback", 30),
            ("+10m", "agent", "reply", _md("""
                Dewi, thanks for taking my call. Summary: the traffic from your Jakarta
                range reaches our Singapore edge and times out between the edge and the
                API. We agreed on **updates every 30 minutes**.

                Workaround while we work on it: send from your Singapore region, which
                is unaffected.
            """)),
            ("+30m", "agent", "update", _md("""
                Update 1: a routing change at our upstream in Singapore at 22:20 WIB
                sends part of the traffic into a broken path. We have asked the
                upstream to withdraw it and are preparing to route around them.
            """)),
            ("+30m", "agent", "update", _md("""
                Update 2: traffic from your Jakarta range now takes another upstream.
                Our monitors from Jakarta see normal response times since 23:47 WIB.
            """)),
            ("+8m", "agent", "propose", _md("""
                **Fix**: traffic from Jakarta is routed around the faulty upstream since
                23:47 WIB, and response times are normal. The upstream will repair their
                change tomorrow; we keep the new route until they confirm.

                Please confirm your Jakarta senders work again; if not, dispute and we
                continue.
            """), "fix"),
        ],
    ),
    Script(
        "ana", Kind.CRITICAL,
        "All SMTP injections fail with 451 4.4.2 timeouts",
        "bd6 07:05",
        _md("""
            Since **06:48 CET** every SMTP injection from our relays times out.
            Sessions open, but after `DATA` we get
            `451 4.4.2 Timeout waiting for data` or the connection drops. The API
            is fine, but our platform only sends over SMTP. Nothing goes out.
        """),
        details={
            "channel": "smtp",
            "since": LocalTime("-17m"),
            "errors": "451 4.4.2 Timeout waiting for data (after DATA, every session from "
                      "203.0.113.40-43)",
            "contact_phone": "+31 20 555 0142",
        },
        files=(
            _file("smtp-session.txt", "text/plain", """
                > EHLO relay1.acme-mail.example
                < 250-smtp.delivery.example
                < 250-STARTTLS
                < 250 SIZE 52428800
                > STARTTLS
                < 220 2.0.0 Ready to start TLS
                > MAIL FROM:<bounce@acme-mail.example>
                < 250 2.1.0 Ok
                > RCPT TO:<customer@example.com>
                < 250 2.1.5 Ok
                > DATA
                < 354 End data with <CR><LF>.<CR><LF>
                > (message, 48 KB)
                > .
                (no answer for 300 s)
                < 451 4.4.2 Timeout waiting for data
            """),
        ),
        steps=[
            ("+5m", "agent", "intake", _md("""
                Hotline intake: Acme Mail, Ana Alvarez, +31 20 555 0142,
                ana@acme.example. "All SMTP injections time out with 451 4.4.2 since
                06:48 CET; API fine."
            """)),
            ("+2m", "agent", "take"),
            ("+1m", "agent", "callback", 30),
            ("+7m", "agent", "reply", _md("""
                Ana, as agreed on the callback: we see the same on our side. Sessions
                on `smtp.delivery.example` port 587 accept the message data but the
                final acknowledgement never comes. Engineering is investigating, and
                you'll get an **update here every 30 minutes**.
            """)),
            ("+20m", "agent", "update", _md("""
                Update 1: the cause is a storage fault on the message queue cluster
                behind port 587 in Amsterdam. Our second cluster, behind
                **`smtp-b.delivery.example` port 2525**, is unaffected.

                **Workaround:** point your relays at `smtp-b.delivery.example:2525`
                (same credentials, same TLS). Mail sent there is delivered normally.
            """)),
            ("+12m", "ana", "reply", _md("""
                We switched relay1 and relay2: mail is flowing. Switching the other two
                now.
            """)),
            ("+10m", "agent", "propose", _md("""
                **Workaround** in place: all four relays send through
                `smtp-b.delivery.example:2525` and mail is flowing normally. The storage
                fault behind port 587 is still being repaired; we'll post here when it
                is, and you can move back at a time that suits you.
            """), "workaround"),
            ("+8m", "ana", "accept"),
            ("bd6 13:30", "tam", "note", "Storage on the 587 cluster repaired 12:55 CET. "
                                         "Told Ana by phone; she moves back tomorrow."),
        ],
    ),
    # --- Tier 1 remediation ------------------------------------------------------
    Script(
        "sari", Kind.REMEDIATION,
        "Comcast rejects promotions from 198.51.100.53 with 554 BL000000",
        "bd8 10:20",
        _md("""
            Since about 07:00 WIB our promotions to `comcast.net` addresses sent from
            **198.51.100.53** are rejected with `554 5.7.1 ... BL000000`. The other two
            IPs of `globex-promo` (.51 and .52) still deliver to Comcast normally.
            Could you file Comcast's removal form for us?
        """),
        details=_remediation(
            "554 5.7.1 resimta-h2p-028482.sys.comcast.net comcast 198.51.100.53 Comcast block "
            "for spam. Please see http://postmaster.comcast.net/smtp-error-codes.php#BL000000",
            provider="comcast",
            recipient_domains="comcast.net",
            ips="198.51.100.53",
            first_seen=UtcTime("-3h20m"),
            last_seen=UtcTime("-15m"),
            volume_before=6_500,
            volume_now=4_300,
            complaint_rate="0.06",
            bounce_rate="0.9",
            **GLOBEX_PROMO,
            fixes="None yet: nothing changed in our lists or content this week.",
        ),
        steps=[
            ("+35m", "mina", "take"),
            ("+15m", "mina", "reply", _md("""
                Thank you, Sari, the request has everything Comcast asks for.

                `BL000000` is Comcast's **own** block list, not a public one: our
                blocklist monitor shows 198.51.100.53 on none of the lists we watch
                (Spamhaus ZEN, Barracuda, SpamCop, PSBL). I've filed Comcast's removal
                form for the IP with your volumes, rates and the full response.

                `554` is a permanent refusal, so the rejected messages are not retried:
                once the block is lifted you may want to send them again.
            """)),
            ("+5m", "mina", "note", "Comcast removal request filed for 198.51.100.53 only; "
                                    ".51/.52 accepted at Comcast all morning."),
            ("bd7 09:30", "mina", "reply", _md("""
                Comcast answered overnight: **198.51.100.53 is removed** from their
                block list. A test message from .53 to our Comcast seed mailbox was
                accepted with `250` at 09:05 WIB.
            """)),
            ("+5m", "mina", "propose", _md("""
                Comcast removed 198.51.100.53 from its block list after our removal
                request, and mail from it is accepted again. If `BL000000` comes back,
                dispute this with a fresh response and we file again.
            """)),
            ("bd6 11:10", "sari", "reply", _md("""
                Confirmed on our side: no `BL000000` since yesterday morning, and
                yesterday's promotion reached Comcast from all three IPs.
            """)),
            ("+2m", "sari", "accept"),
        ],
    ),
    Script(
        "bo", Kind.REMEDIATION,
        "Outlook.com rejects all globex-promo mail: 550 5.7.1 (S3140)",
        "bd2 09:40",
        _md("""
            Since yesterday evening every promotion we send to Outlook.com, Hotmail
            and Live addresses is rejected with `550 5.7.1 ... (S3140)`, from all
            three IPs of our dedicated pool `globex-promo`. Transactional mail on the
            shared pool reaches Microsoft normally.

            We paused the promotions stream to Microsoft domains at 21:00 WIB.
            Please file Microsoft's form for us.
        """),
        details=_remediation(
            MICROSOFT_S3140.format(ip="198.51.100.52") + "\n"
            + MICROSOFT_S3140.format(ip="198.51.100.51"),
            provider="microsoft",
            recipient_domains="outlook.com, hotmail.com, live.com",
            ips="198.51.100.48/29",
            first_seen=UtcTime("-14h"),
            last_seen=UtcTime("-12h40m"),
            volume_before=240_000,
            volume_now=0,
            complaint_rate="0.09",
            bounce_rate="1.4",
            **GLOBEX_PROMO,
            fixes="Paused promotions to Microsoft domains at 21:00 WIB (14:00 UTC). "
                  "Nothing else yet.",
        ),
        steps=[
            ("+25m", "mina", "take"),
            ("+15m", "mina", "reply", _md("""
                Thanks, Bo. `S3140` means Microsoft blocks **part of the network** a
                message comes from rather than a single IP, which is why all three IPs
                of `globex-promo` (198.51.100.51 to .53, in 198.51.100.48/29) were
                refused at the same moment.

                I've filed Microsoft's sender support form for 198.51.100.48/29 with
                your responses, volumes, rates and authentication results, and will
                post Microsoft's answer here. In Microsoft's SNDS, .52 went **yellow**
                (10 to 90% of its mail judged spam) on the day before the block; .51
                and .53 stayed green.

                One limit to know: this is Tier 1 remediation. We file the provider's
                standard form and follow it up; when and how Microsoft lifts the block
                is their decision.
            """)),
            ("+10m", "mina", "note", _md("""
                Microsoft sender support request filed for 198.51.100.48/29. Same pool
                had a Comcast BL000000 on .53 last week. .52 yellow in SNDS the day
                before: ask what was sent from it.
            """)),
            ("+30m", "mina", "info", _md("""
                To back the request, could you tell us what the promotions stream sent
                the day before the block, especially from .52: a new segment, an old
                list, a different offer? Microsoft often asks what changed.
            """)),
            ("bd1 10:15", "bo", "reply", _md("""
                Found it: a win-back campaign to about 180,000 addresses without an
                open or click for over a year went out that day, mostly from .52.
                Those addresses are now excluded from every promotion, and we have
                no plans to mail them again.
            """)),
            ("+45m", "mina", "reply", _md("""
                Thank you, that explains the yellow day in SNDS. I've added it to our
                request with Microsoft, together with the exclusion you made. Microsoft
                has acknowledged the request and is reviewing it; I'll post their
                answer here as soon as it arrives.

                Meanwhile, keep the stream to Microsoft paused. One more thing worth
                fixing before you resume: the promotions stream has **no one-click
                unsubscribe** headers, which Microsoft (like Gmail and Yahoo) expects
                from senders of more than about 5,000 messages a day. A configuration
                request for `List-Unsubscribe` with an https URL plus
                `List-Unsubscribe-Post: List-Unsubscribe=One-Click` will get it added.
            """)),
        ],
    ),
    # --- planning ------------------------------------------------------------------
    Script(
        "ana", Kind.PLANNING,
        "Review our plan to migrate marketplace notifications from our previous provider",
        "bd3 16:05",
        _md("""
            We are moving our **marketplace notifications** (order, shipping and
            payout messages on `marketplace.acme-mail.example`) from our previous
            provider onto the service: about **1.5 million messages a day**, 48% to
            Gmail, 27% to Microsoft. Our contract with the old provider ends in
            seven weeks.

            I made a migration plan in the planner with three new IPs, starting on a
            Monday (chosen below). Could you review it with us? Is three IPs right,
            and what should we watch so we don't repeat the first weeks of
            `acme-bulk-2`?
        """),
        details={
            "topic": "migration",
            "needed_by": LocalDate("+49d"),
            "volumes": "1.5M a day today on our previous provider; the same on the service "
                       "after the move",
            "warmup_plan": PlanRef("acme-marketplace"),
        },
        steps=[
            ("bd2 09:50", "tam", "reply", _md("""
                Thanks, Ana, I've gone through the plan.

                - **Three IPs is right** for 1.5 million a day; each IP ends at 500,000
                  a day.
                - The daily quota through us starts at 600 messages on day 1 (200 per
                  IP) and covers all 1.5 million on **day 17**. Until then your
                  previous provider carries the rest each day, 1,499,400 on day 1.
                  Only the marketplace stream on `marketplace.acme-mail.example` moves;
                  the rest of your mail stays where it is.
                - **Audience:** in weeks 1 and 2 the new IPs only get recipients who
                  opened or clicked in the last 30 days; in weeks 3 and 4, the last 60
                  days. On day 14 the quota is 750,000: how many of your marketplace
                  recipients were active in the last 30 and 60 days?
                - **Slow-down signals:** on Gmail `421 4.7.28` or Microsoft `421
                  RP-001` to `RP-003`, repeat the day's volume instead of advancing.
                  With `acme-bulk-2` the whole newsletter moved at once; this plan is
                  what avoids that.
            """)),
            ("+4h40m", "ana", "reply", _md("""
                Buyers read their order updates, so the numbers are good: about
                **1.1 million** opened or clicked in the last 30 days and **1.3
                million** in the last 60.
            """)),
            ("+25m", "marek", "reply", _md("""
                For operations: our MTA can split a stream between two providers by
                a daily count, so we'll load the plan's CSV and follow its quota day
                by day.
            """)),
            ("bd1 10:30", "tam", "reply", _md("""
                Then weeks 1 and 2 are well covered: the largest quota in them is
                750,000 against 1.1 million engaged. One catch in week 3: on day 17 the
                quota is 1.5 million, but only 1.3 million were active in the last 60
                days. Keep the other **200,000 on your previous provider until day
                29**, when the window widens to anyone active in the last 90 days, and
                move those then. Your contract still runs past day 29.

                Full reputation takes 4 to 8 weeks, so I'll check the figures with you
                daily in the first week. I'll send an invite for a short kickoff call
                on the Friday before day 1.
            """)),
            ("+5m", "tam", "note", "Asked provisioning for pool acme-market (3 IPs, rDNS "
                                   "under marketplace.acme-mail.example) before day 1."),
        ],
    ),
]


# Playing the scripts ------------------------------------------------------------

_DELTA_PART = re.compile(r"(\d+)([dhm])")
_BUSINESS_DAY = re.compile(r"bd(\d+) (\d{2}:\d{2})")
CASE_CLOCKS = (
    "created_at",
    "hotline_intake_at",
    "callback_at",
    "last_activity_at",
    "awaiting_provider_since",
    "first_response_at",
    "resolved_at",
)


def _delta(text: str) -> timedelta:
    parts = _DELTA_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"Not a duration: {text!r}")
    units = {"d": "days", "h": "hours", "m": "minutes"}
    return sum((timedelta(**{units[u]: int(n)}) for n, u in parts), timedelta())


def _business_days_back(today: date, count: int) -> date:
    day = today
    while count > 0:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def _moment(spec: str, previous: datetime | None, now: datetime, zone: ZoneInfo) -> datetime:
    if spec.startswith("+"):
        if previous is None:
            raise ValueError(f"{spec!r} needs a previous step")
        return previous + _delta(spec[1:])
    if spec.startswith("-"):
        return now - _delta(spec[1:])
    match = _BUSINESS_DAY.fullmatch(spec)
    if match is None:
        raise ValueError(f"Not a moment: {spec!r}")
    today = now.replace(tzinfo=UTC).astimezone(zone).date()
    day = _business_days_back(today, int(match.group(1)))
    local = datetime.combine(day, time.fromisoformat(match.group(2)), zone)
    return local.astimezone(UTC).replace(tzinfo=None)


def plan(script: Script, now: datetime, zone: ZoneInfo) -> list[datetime]:
    """The opening and each step's moment, in order and all in the past.

    Moments anchored to business days can land close to ``now`` early in the
    morning; the whole timeline then moves back, keeping its rhythm."""
    moments: list[datetime] = []
    for spec in [script.opened, *(step[0] for step in script.steps)]:
        moment = _moment(spec, moments[-1] if moments else None, now, zone)
        if moments and moment <= moments[-1]:
            raise ValueError(f"{script.subject}: step {spec!r} is not after the one before")
        moments.append(moment)
    latest = now - timedelta(minutes=2)
    if moments[-1] > latest:
        shift = moments[-1] - latest
        moments = [m - shift for m in moments]
    return moments


ACTIONS: dict[str, Callable] = {
    "reply": lambda case, actor, people, body, files=(): services.reply(case, actor, body, files),
    "info": lambda case, actor, people, body: services.request_information(case, actor, body),
    "note": lambda case, actor, people, body: services.add_internal_note(case, actor, body),
    "take": lambda case, actor, people: services.take(case, actor),
    "assign": lambda case, actor, people, key: services.assign(case, actor, people[key]),
    "propose": lambda case, actor, people, summary, kind=None: services.propose_resolution(
        case, actor, summary, kind
    ),
    "accept": lambda case, actor, people: services.accept_resolution(case, actor),
    "dispute": lambda case, actor, people, reason: services.dispute_resolution(case, actor, reason),
    # The critical path's own events, so the demo shows its clocks.
    "intake": lambda case, actor, people, body: clock_services.log_hotline_intake(
        case,
        actor,
        company=case.account.name,
        contact_name=case.requester.name,
        phone=case.details.get("contact_phone", ""),
        email=case.requester.email,
        description=body,
    ),
    "callback": lambda case, actor, people, minutes: clock_services.log_callback(
        case, actor, minutes, "Called back; update interval agreed on the call."
    ),
    "update": lambda case, actor, people, body: clock_services.post_update(case, actor, body),
}


def _backdate(case: Case, moment: datetime, clocks_before: dict, after_event: int,
              after_attachment: int) -> None:
    """Move what the last service call stamped with the wall clock to ``moment``."""
    for name in CASE_CLOCKS:
        value = getattr(case, name)
        if value is not None and value != clocks_before.get(name):
            setattr(case, name, moment)
    events = db.session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.id > after_event)
        .order_by(CaseEvent.id)
    ).all()
    for offset, event in enumerate(events):
        event.created_at = moment + timedelta(seconds=offset)
    attachments = db.session.scalars(
        select(Attachment).where(Attachment.case_id == case.id, Attachment.id > after_attachment)
    ).all()
    for attachment in attachments:
        attachment.created_at = moment


def _high_water(case: Case) -> tuple[int, int]:
    last_event = db.session.scalar(
        select(func.coalesce(func.max(CaseEvent.id), 0)).where(CaseEvent.case_id == case.id)
    )
    last_attachment = db.session.scalar(
        select(func.coalesce(func.max(Attachment.id), 0)).where(Attachment.case_id == case.id)
    )
    return last_event, last_attachment


def _details(script: Script, opened: datetime, zone: ZoneInfo, plans: dict[str, WarmupPlan]) -> dict:
    details = {}
    for key, value in script.details.items():
        if isinstance(value, LocalTime):
            details[key] = value.render(opened, zone)
        elif isinstance(value, PlanRef):
            saved = plans[value.key]
            details[key] = f"{saved.name} (plan {saved.id})"
            details[f"{key}_id"] = saved.id
        else:
            details[key] = value
    return details


def play(
    script: Script, people: dict[str, User], now: datetime, plans: dict[str, WarmupPlan] | None = None
) -> Case:
    requester = people[script.requester]
    zone = requester.account.zone
    moments = plan(script, now, zone)
    details = _details(script, moments[0], zone, plans or {})
    case = services.open_case(
        requester, script.kind, script.subject, script.description, details, script.files
    )
    _backdate(case, moments[0], {}, 0, 0)
    for (_, actor_key, action, *arguments), moment in zip(script.steps, moments[1:], strict=True):
        clocks_before = {name: getattr(case, name) for name in CASE_CLOCKS}
        after_event, after_attachment = _high_water(case)
        ACTIONS[action](case, people[actor_key], people, *arguments)
        db.session.flush()
        _backdate(case, moment, clocks_before, after_event, after_attachment)
    # Due times follow the events' (backdated) times, not the moment of loading.
    clock_services.recompute_clocks(case)
    db.session.flush()
    return case


# Loading --------------------------------------------------------------------------


def _upsert_accounts(now: datetime) -> dict[str, Account]:
    accounts = {}
    for key, spec in ACCOUNTS.items():
        account = db.session.scalar(select(Account).where(Account.name == spec["name"]))
        if account is None:
            account = Account(name=spec["name"], created_at=now - timedelta(days=420))
            db.session.add(account)
        account.timezone = spec["timezone"]
        account.business_hours = spec["business_hours"]
        accounts[key] = account
    db.session.flush()
    return accounts


def _upsert_people(accounts: dict[str, Account], now: datetime) -> dict[str, User]:
    # Everyone shares the demo password, so one hash serves them all and each stored
    # hash is verified once: Argon2 is slow on purpose, ten times over is noticeable.
    demo_hash: str | None = None
    verified: dict[str, bool] = {}

    def knows_demo_password(user: User) -> bool:
        if user.password_hash is None:
            return False
        if user.password_hash not in verified:
            verified[user.password_hash] = check_password(user, PASSWORD)
        return verified[user.password_hash]

    people = {}
    for key, person in PEOPLE.items():
        user = db.session.scalar(select(User).where(User.email == person.email))
        if user is None:
            user = User(email=person.email, created_at=now - timedelta(days=400))
            db.session.add(user)
        user.name = person.name
        user.role = person.role
        user.account = accounts[person.account] if person.account else None
        user.timezone = person.timezone
        user.phone = person.phone
        user.on_duty = person.on_duty
        user.active = True
        if not knows_demo_password(user):
            demo_hash = demo_hash or hash_password(PASSWORD)
            user.password_hash = demo_hash
        people[key] = user
    for account in accounts.values():
        account.tam = people["tam"]
    db.session.flush()
    return people


def _plan_start(today: date, lead_days: int) -> date:
    earliest = today + timedelta(days=lead_days)
    return earliest + timedelta(days=-earliest.weekday() % 7)


def _load_plans(people: dict[str, User], now: datetime) -> tuple[dict[str, WarmupPlan], int]:
    """The saved plans by key, made through the planner's own service when missing;
    (plans, how many are new)."""
    plans, created = {}, 0
    for key, spec in PLANS.items():
        author = people[spec.author]
        account = author.account
        saved = db.session.scalar(
            select(WarmupPlan).where(WarmupPlan.account_id == account.id, WarmupPlan.name == spec.name)
        )
        if saved is None:
            zone = account.zone
            today = now.replace(tzinfo=UTC).astimezone(zone).date()
            inputs = PlanInputs(
                volume=spec.volume,
                ips=spec.ips,
                start=_plan_start(today, spec.lead_days),
                shares={provider: Decimal(spec.shares.get(provider, "0")) for provider, _ in PROVIDERS},
                current_volume=spec.current_volume,
            )
            saved = planner_services.save_plan(author, account, inputs, spec.name)
            saved.created_at = _moment(spec.made, None, now, zone)
            created += 1
        plans[key] = saved
    db.session.flush()
    return plans, created


def _load_cases(people: dict[str, User], plans: dict[str, WarmupPlan], now: datetime) -> int:
    existing = set(db.session.execute(select(Case.account_id, Case.subject)).all())
    todo = []
    for script in CASES:
        requester = people[script.requester]
        if (requester.account_id, script.subject) in existing:
            continue
        todo.append((plan(script, now, requester.account.zone)[0], script))
    # Oldest first, so references grow with the age of the cases.
    for _, script in sorted(todo, key=lambda item: item[0]):
        play(script, people, now, plans)
    return len(todo)


def parse_front_matter(text: str, source: str = "<text>") -> tuple[dict[str, str], str]:
    """``key: value`` lines between two ``---`` lines, then the Markdown body."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ValueError(f"{source}: must start with a '---' front matter line")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    except StopIteration:
        raise ValueError(f"{source}: front matter has no closing '---'") from None
    meta = {}
    for line in lines[1:end]:
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            raise ValueError(f"{source}: front matter line is not 'key: value': {line!r}")
        meta[key.strip().lower()] = value.strip()
    return meta, "\n".join(lines[end + 1 :]).strip() + "\n"


def _flag(value: str, source: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise ValueError(f"{source}: 'published' must be true or false, not {value!r}")


_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def read_articles(content_dir: Path = CONTENT_DIR) -> list[dict]:
    known = {slug for slug, _, _ in CATEGORIES}
    articles = []
    for path in sorted(content_dir.glob("*/*.md")):
        source = str(path.relative_to(content_dir))
        category, slug = path.parent.name, path.stem
        if category not in known:
            raise ValueError(f"{source}: unknown category {category!r}")
        if not _SLUG.fullmatch(slug):
            raise ValueError(f"{source}: file name is not a slug")
        meta, body = parse_front_matter(path.read_text(encoding="utf-8"), source)
        if not meta.get("title"):
            raise ValueError(f"{source}: front matter needs a title")
        articles.append({
            "slug": slug,
            "category": category,
            "title": meta["title"],
            "summary": meta.get("summary", ""),
            "published": _flag(meta.get("published", "false"), source),
            "body_md": body,
        })
    return articles


def _load_knowledge_base() -> tuple[int, int]:
    """Categories and articles from the content files; (created, updated) articles."""
    categories = {}
    for position, (slug, name, description) in enumerate(CATEGORIES):
        category = db.session.scalar(select(Category).where(Category.slug == slug))
        if category is None:
            category = Category(slug=slug)
            db.session.add(category)
        category.name, category.description, category.position = name, description, position
        categories[slug] = category
    db.session.flush()
    created = updated = 0
    for spec in read_articles():
        values = {
            "title": spec["title"],
            "summary": spec["summary"],
            "published": spec["published"],
            "body_md": spec["body_md"],
            "body_html": str(render_markdown(spec["body_md"])),
            "category_id": categories[spec["category"]].id,
            "locale": "en",
        }
        article = db.session.scalar(select(Article).where(Article.slug == spec["slug"]))
        if article is None:
            db.session.add(Article(slug=spec["slug"], **values))
            created += 1
        elif any(getattr(article, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(article, name, value)
            updated += 1
    db.session.flush()
    return created, updated


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def load_demo() -> str:
    """Load or refresh the demo data, commit, and say what is there and how to sign in."""
    # Demo people have made-up addresses: their story writes no mail.
    with immediate(), muted():
        now = utcnow().replace(second=0, microsecond=0)
        people = _upsert_people(_upsert_accounts(now), now)
        plans, new_plans = _load_plans(people, now)
        new_cases = _load_cases(people, plans, now)
        new_articles, changed_articles = _load_knowledge_base()
        db.session.commit()

    plan_count = _count(WarmupPlan)
    published = db.session.scalar(
        select(func.count()).select_from(Article).where(Article.published.is_(True))
    )
    lines = [
        f"Demo data loaded: {_count(Account)} accounts, {_count(User)} users, "
        f"{_count(Case)} cases ({new_cases} new), {_count(CaseEvent)} timeline events, "
        f"{plan_count} warm-up plan{'' if plan_count == 1 else 's'} ({new_plans} new), "
        f"{_count(Category)} categories, {_count(Article)} articles ({published} published; "
        f"{new_articles} new, {changed_articles} updated).",
        f"Demo logins (password: {PASSWORD}):",
    ]
    for key in LOGINS:
        person = PEOPLE[key]
        where = f", {ACCOUNTS[person.account]['name']}" if person.account else ""
        lines.append(f"  {person.email:<24} {person.role}{where}")
    return "\n".join(lines)
