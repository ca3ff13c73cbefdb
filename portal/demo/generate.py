"""Bulk benchmark data: accounts, their customer users, staff, and cases whose
timelines read like the lifecycle in DESIGN.md (kinds, statuses, internal notes).

Rows go in by batches, one transaction per chunk of cases, so a hundred thousand
cases with a million events take well under a minute on SQLite. The database
assigns every id: a chunk's cases come back from ``INSERT ... RETURNING`` in
parameter order (on PostgreSQL their ids are drawn from the table's sequence),
and their events follow through the driver's ``executemany`` (``COPY`` on
PostgreSQL). Nothing is computed from ``max(id)``, so it adds safely to a
database in use.

The service layer is bypassed on purpose: it writes one case at a time and
announces every event (clocks, outbox), and a million benchmark events must not
queue a million mails. What the services maintain on a case (status, who
proposed, first response, the "awaiting provider" clock, last activity, due
times) is derived here from the generated events, as the services would have
left it.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import JSON, insert

from portal.accounts.models import Account, Role, User
from portal.auth.passwords import hash_password
from portal.cases.models import Case, CaseEvent, EventKind, Kind, Status
from portal.database import immediate
from portal.extensions import db
from portal.timeutil import utcnow

PASSWORD = "demo"
HISTORY = timedelta(days=730)
CHUNK_CASES = 5_000

COMPANIES = (
    "Northwind Mail", "Contoso Retail", "Fabrikam Travel", "Initech Billing", "Umbrella Health",
    "Stark Logistics", "Wayne Media", "Tyrell Energy", "Soylent Foods", "Hooli Cloud",
    "Vandelay Imports", "Wonka Sweets", "Cyberdyne Labs", "Gringotts Bank", "Oceanic Air",
    "Duff Beverages", "Monarch Insurance", "Pied Piper", "Aperture Science", "Massive Dynamic",
)
FIRST_NAMES = (
    "Alex", "Sam", "Jordan", "Maria", "Wei", "Fatima", "Lars", "Ines", "Kofi", "Yuki",
    "Priya", "Tomas", "Noor", "Elena", "Ravi", "Chloe", "Mateo", "Aiko", "Omar", "Sofia",
)
LAST_NAMES = (
    "Berg", "Okafor", "Silva", "Nguyen", "Kowalski", "Haddad", "Jensen", "Moreau", "Tanaka",
    "Costa", "Fischer", "Rossi", "Patel", "Novak", "Larsen", "Garcia", "Kim", "Dubois",
)
TIMEZONES = (
    "Europe/Amsterdam", "America/New_York", "Asia/Jakarta", "Europe/London",
    "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo", "UTC",
)

# Share of each kind among generated cases.
KIND_WEIGHTS = {
    Kind.BUG: 30,
    Kind.CONFIGURATION: 25,
    Kind.INFORMATION: 24,
    Kind.CRITICAL: 5,
    Kind.REMEDIATION: 9,
    Kind.PLANNING: 7,
}
# Status a case is steered towards: recent cases are mostly open, old ones resolved.
RECENT_STATUS_WEIGHTS = {
    Status.NEW: 15,
    Status.IN_PROGRESS: 35,
    Status.WAITING_ON_CUSTOMER: 20,
    Status.RESOLUTION_PROPOSED: 10,
    Status.RESOLVED: 20,
}
OLD_STATUS_WEIGHTS = {
    Status.NEW: 0.3,
    Status.IN_PROGRESS: 1,
    Status.WAITING_ON_CUSTOMER: 1,
    Status.RESOLUTION_PROPOSED: 0.7,
    Status.RESOLVED: 97,
}
RECENT = timedelta(days=45)
RESPONSE_TARGET = timedelta(hours=8)  # generated accounts keep the default target
CALLBACK_TARGET = timedelta(minutes=15)
UPDATE_INTERVAL = timedelta(minutes=60)

SUBJECTS = {
    Kind.BUG: (
        "Webhook batches arrive twice",
        "Open tracking pixel returns 404 for some recipients",
        "API returns 500 on /v3/messages with large attachments",
        "Bounce webhooks missing the original message id",
        "Suppression list export times out",
        "SMTP relay drops the Reply-To header",
        "Click tracking breaks links with URL fragments",
        "Delivery report shows messages twice",
    ),
    Kind.CONFIGURATION: (
        "Add a sending domain for our EU brand",
        "Move transactional mail to the dedicated IP pool",
        "Rotate SMTP credentials for the billing system",
        "Raise the hourly sending limit for Black Friday",
        "Point tracking domain at our CNAME",
        "Enable webhooks for spam complaints",
        "Split marketing and transactional streams",
    ),
    Kind.INFORMATION: (
        "How do you count a delivered message?",
        "What retry schedule applies to soft bounces?",
        "Do you support BIMI?",
        "Which IPs should we allow-list for webhooks?",
        "How are unsubscribes handled for list-unsubscribe-post?",
        "What does deferral code 421 4.7.0 mean for us?",
    ),
    Kind.CRITICAL: (
        "API rejects every request with 503",
        "SMTP injection refused: 421 service not available",
        "All sends failing since the last deploy",
        "Authentication fails for every API key",
    ),
    Kind.REMEDIATION: (
        "Dedicated IP listed on Spamhaus SBL",
        "Outlook blocks our main sending IP (S3150)",
        "Gmail rate limiting our domain",
        "Yahoo deferring all mail from the shared pool",
    ),
    Kind.PLANNING: (
        "Migrate 40M monthly messages from our old provider",
        "IP warm-up plan for four new dedicated IPs",
        "Capacity review ahead of the holiday season",
        "Roll-out plan for a second sending region",
    ),
}

DETAILS = {
    Kind.BUG: lambda r: {
        "channel": r.choice(("api", "smtp", "both", "portal")),
        "steps": "Send a batch of 500 messages through the API and watch the webhook log.",
        "request_ids": f"req_{r.getrandbits(40):010x}",
    },
    Kind.CONFIGURATION: lambda r: {
        "area": r.choice(("sending_domain", "ip_pool", "smtp_credentials", "webhooks", "limits")),
        "change": "Please apply the change described in the case to production.",
    },
    Kind.INFORMATION: lambda r: {"topic": r.choice(("deliverability", "api", "billing", "other"))},
    Kind.CRITICAL: lambda r: {
        "channel": r.choice(("api", "smtp", "both")),
        "errors": "HTTP 503 {\"error\": \"service unavailable\"}",
        "contact_phone": f"+1 555 {r.randrange(1000, 9999)}",
    },
    Kind.REMEDIATION: lambda r: {
        "provider": r.choice(("Gmail", "Outlook", "Yahoo", "Spamhaus", "Barracuda")),
        "ips": [f"198.51.100.{r.randrange(1, 255)}"],
    },
    Kind.PLANNING: lambda r: {"topic": r.choice(("migration", "warmup", "capacity", "features"))},
}

CUSTOMER_WORDS = (
    "We still see this on about **3%** of our traffic. Request ids attached below.",
    "Any news? Our marketing team is waiting to launch the campaign.",
    "Here are the headers of one affected message:\n\n```\nX-Message-Id: 9f2c1e\nReceived: from mta-14\n```",
    "Thanks, that helps. We rolled the change out to staging first.",
    "It happened again at 14:05 our time, same error.",
    "We checked our side: the DNS records are in place and have propagated.",
    "Could you confirm whether this affects the EU region too?",
    "Attaching the logs from the last hour.\n\n- 12:01 batch 4411 sent\n- 12:03 webhook received twice",
)
STAFF_WORDS = (
    "Thanks for the details. I can reproduce this and have raised it with engineering.",
    "We deployed a fix to the webhook dispatcher; please let us know if you still see duplicates.",
    "Your sending domain is now verified. DKIM keys are rotated every 6 months.",
    "I have asked the Gmail postmaster team to review the block; their usual answer time is 24-48 hours.",
    "Could you send us the full SMTP transcript of one failed delivery?",
    "The limit is raised to **250,000 messages per hour** from Monday 00:00 UTC.",
    "Looking at this now. Next update within the hour.",
    "This is expected behaviour: soft bounces are retried for 72 hours with exponential backoff.",
)
NOTES = (
    "Customer is on the enterprise plan; TAM informed.",
    "Same pattern as last month's incident, see the post-mortem.",
    "Checked the MTA logs: deferrals come from one receiving domain only.",
    "Do not promise a date yet, engineering has not estimated it.",
    "Escalated internally to the deliverability team.",
)
RESOLUTIONS = (
    "The fix is deployed to production and duplicates stopped at 10:42 UTC.",
    "The IP is delisted and traffic is flowing again; we keep monitoring it for a week.",
    "Configuration applied as requested.",
    "Answered above; closing unless you have more questions.",
    "Workaround: send through the secondary pool until the permanent fix ships.",
)
UPDATES = (
    "Update: engineering has identified the failing component and is rolling back.",
    "Update: error rate is down to 2% and falling; next update in 60 minutes.",
)


@dataclass
class Summary:
    accounts: int
    users: int
    cases: int
    events: int
    seconds: float
    sign_in: str | None

    def __str__(self) -> str:
        rate = self.cases / self.seconds if self.seconds else 0
        text = (
            f"Generated {self.cases:,} cases and {self.events:,} events "
            f"({self.accounts} accounts, {self.users} users) in {self.seconds:.1f} s "
            f"({rate:,.0f} cases/s)."
        )
        if self.sign_in:
            text += f"\nSign in as {self.sign_in} with the password {PASSWORD!r}."
        return text


def generate(
    cases: int,
    events_per_case: int,
    accounts: int = 10,
    seed: int | None = None,
    chunk: int = CHUNK_CASES,
) -> Summary:
    """Add ``accounts`` new accounts and ``cases`` cases of exactly ``events_per_case``
    events each, spread over the last two years, to whatever the database holds."""
    if events_per_case < 1:
        raise ValueError("Every case has at least its 'created' event.")
    started = time.perf_counter()
    rng = random.Random(seed)
    # Names must not collide with an earlier run, whatever the seed.
    tag = secrets.token_hex(3)
    with immediate():
        people = _people(rng, tag, max(accounts, 1))
        db.session.commit()
        written = 0
        events = 0
        now = utcnow()
        for first in range(0, cases, chunk):
            count = min(chunk, cases - first)
            events += _chunk(rng, people, first, count, cases, events_per_case, now)
            db.session.commit()
            written += count
    customers = people.customers_by_account
    return Summary(
        accounts=len(people.account_ids),
        users=len(people.agent_ids) + len(people.tam_ids) + sum(map(len, customers.values())),
        cases=written,
        events=events,
        seconds=time.perf_counter() - started,
        sign_in=people.first_customer_email,
    )


@dataclass
class _People:
    account_ids: list[int]
    tam_of_account: dict[int, int]
    customers_by_account: dict[int, list[int]]
    agent_ids: list[int]
    tam_ids: list[int]
    staff_names: dict[int, str]
    first_customer_email: str | None


def _user_row(email: str, name: str, role: Role, account_id: int | None, password_hash: str, rng):
    return {
        "email": email,
        "name": name,
        "role": str(role),
        "account_id": account_id,
        "password_hash": password_hash,
        "phone": f"+1 555 {rng.randrange(1000, 9999)}",
        "timezone": "UTC",
        "locale": "en",
        "active": True,
        "on_duty": role == Role.AGENT,
        "created_at": utcnow() - HISTORY,
        "last_login_at": None,
    }


def _insert_returning_ids(table, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.execute(statement, rows).scalars())


def _insert_cases(rows: list[dict]) -> list[int]:
    """Insert cases and return their ids in order. On PostgreSQL the ids are drawn
    from the table's own sequence (unique under any concurrency) and the rows go
    in by COPY: a multi-row INSERT ... RETURNING was the slowest part there."""
    connection = db.session.connection()
    if not rows or connection.dialect.name != "postgresql":
        return _insert_returning_ids(Case.__table__, rows)
    ids = sorted(
        connection.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('\"case\"', 'id')) "
            f"FROM generate_series(1, {len(rows)})"
        ).scalars()
    )
    columns = ("id", *rows[0])
    _executemany(
        Case.__table__,
        columns,
        [(case_id, *row.values()) for case_id, row in zip(ids, rows, strict=True)],
    )
    return ids


def _people(rng: random.Random, tag: str, accounts: int) -> _People:
    password_hash = hash_password(PASSWORD)  # once: Argon2 is slow on purpose

    def person(i: int) -> str:
        return f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i * 7) % len(LAST_NAMES)]}"

    tam_count = max(1, accounts // 5)
    staff = [
        _user_row(f"tam-{tag}-{i + 1}@support.example", person(i + 3), Role.TAM, None, password_hash, rng)
        for i in range(tam_count)
    ] + [
        _user_row(f"agent-{tag}-{i + 1}@support.example", person(i + 11), Role.AGENT, None, password_hash, rng)
        for i in range(8)
    ]
    staff_ids = _insert_returning_ids(User.__table__, staff)
    tam_ids, agent_ids = staff_ids[:tam_count], staff_ids[tam_count:]

    account_rows = [
        {
            "name": f"{COMPANIES[i % len(COMPANIES)]} {tag}-{i + 1}",
            "tam_id": tam_ids[i % tam_count],
            "timezone": TIMEZONES[i % len(TIMEZONES)],
            "business_hours": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "response_target_hours": 8,
            "created_at": utcnow() - HISTORY,
        }
        for i in range(accounts)
    ]
    account_ids = _insert_returning_ids(Account.__table__, account_rows)

    customer_rows = []
    for n, account_id in enumerate(account_ids):
        slug = COMPANIES[n % len(COMPANIES)].split()[0].lower()
        for j in range(3):
            first = FIRST_NAMES[(n + j * 3) % len(FIRST_NAMES)]
            row = _user_row(
                f"{first.lower()}-{tag}-{n + 1}@{slug}.example",
                person(n + j * 3),
                Role.CUSTOMER,
                account_id,
                password_hash,
                rng,
            )
            row["timezone"] = TIMEZONES[n % len(TIMEZONES)]
            customer_rows.append(row)
    customer_ids = _insert_returning_ids(User.__table__, customer_rows)
    by_account: dict[int, list[int]] = {a: [] for a in account_ids}
    for row, user_id in zip(customer_rows, customer_ids, strict=True):
        by_account[row["account_id"]].append(user_id)
    return _People(
        account_ids=account_ids,
        tam_of_account={a: tam_ids[i % tam_count] for i, a in enumerate(account_ids)},
        customers_by_account=by_account,
        agent_ids=agent_ids,
        tam_ids=tam_ids,
        staff_names={i: row["name"] for i, row in zip(staff_ids, staff, strict=True)},
        first_customer_email=customer_rows[0]["email"] if customer_rows else None,
    )


# One planned event: (kind, author id, body, data, internal, side) where side is
# "customer" or "provider" and says whose move it was.
_Planned = tuple[str, int, str, dict, bool, str]


def _plan(
    rng: random.Random,
    kind: Kind,
    target: Status,
    m: int,
    customer: int,
    staff: int,
    staff_name: str,
) -> list[_Planned]:
    """The events of one case, in order, ``m`` of them, heading for ``target``."""
    C, P = "customer", "provider"
    head: list[_Planned] = [(EventKind.CREATED, customer, rng.choice(CUSTOMER_WORDS), {}, False, C)]
    status = Status.NEW

    def change(to: Status, who: int, side: str) -> _Planned:
        nonlocal status
        event = (EventKind.STATUS_CHANGED, who, "", {"old": str(status), "new": str(to)}, False, side)
        status = to
        return event

    if kind == Kind.CRITICAL:
        head.append((EventKind.HOTLINE_INTAKE, staff, "Customer called the hotline.", {}, False, P))
    if target != Status.NEW:
        if kind == Kind.CRITICAL:
            head.append((EventKind.CALLBACK_MADE, staff, "", {}, False, P))
        head.append((EventKind.ASSIGNED, staff, "", {"assignee_id": staff, "assignee_name": staff_name}, False, P))
        head.append((EventKind.COMMENT, staff, rng.choice(STAFF_WORDS), {}, False, P))
        head.append(change(Status.IN_PROGRESS, staff, P))

    tail: list[_Planned] = []
    if target == Status.WAITING_ON_CUSTOMER:
        tail.append((EventKind.INFORMATION_REQUESTED, staff, rng.choice(STAFF_WORDS), {}, False, P))
        tail.append(change(Status.WAITING_ON_CUSTOMER, staff, P))
    elif target in (Status.RESOLUTION_PROPOSED, Status.RESOLVED):
        by_customer = rng.random() < 0.15
        who, side = (customer, C) if by_customer else (staff, P)
        resolution_kind = rng.choice(("fix", "workaround")) if kind == Kind.CRITICAL else None
        data = {"resolution_kind": resolution_kind}
        tail.append((EventKind.RESOLUTION_PROPOSED, who, rng.choice(RESOLUTIONS), data, False, side))
        tail.append(change(Status.RESOLUTION_PROPOSED, who, side))
        if target == Status.RESOLVED:
            other, other_side = (staff, P) if by_customer else (customer, C)
            tail.append((EventKind.RESOLUTION_ACCEPTED, other, "", data, False, other_side))
            tail.append(change(Status.RESOLVED, other, other_side))

    filler = []
    for _ in range(m - len(head) - len(tail)):
        roll = rng.random()
        if roll < 0.15:
            filler.append((EventKind.INTERNAL_NOTE, staff, rng.choice(NOTES), {}, True, P))
        elif roll < 0.55 or target == Status.NEW:
            filler.append((EventKind.COMMENT, customer, rng.choice(CUSTOMER_WORDS), {}, False, C))
        elif kind == Kind.CRITICAL and roll < 0.75:
            filler.append((EventKind.UPDATE_POSTED, staff, rng.choice(UPDATES), {}, False, P))
        else:
            filler.append((EventKind.COMMENT, staff, rng.choice(STAFF_WORDS), {}, False, P))
    # Fewer events than the lifecycle needs: keep the beginning; the case's state
    # is derived from what was kept.
    return (head + filler + tail)[:m]


# What the services count as the provider's first response.
_FIRST_RESPONSE_KINDS = {
    EventKind.COMMENT,
    EventKind.INFORMATION_REQUESTED,
    EventKind.RESOLUTION_PROPOSED,
}


def _chunk(
    rng: random.Random,
    people: _People,
    first: int,
    count: int,
    total: int,
    m: int,
    now: datetime,
) -> int:
    kinds, kind_weights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    statuses = list(Status)
    recent_weights = [RECENT_STATUS_WEIGHTS[s] for s in statuses]
    old_weights = [OLD_STATUS_WEIGHTS[s] for s in statuses]
    span = HISTORY.total_seconds()
    case_rows = []
    plans = []
    for i in range(first, first + count):
        account_id = people.account_ids[i % len(people.account_ids)]
        customer = rng.choice(people.customers_by_account[account_id])
        kind = rng.choices(kinds, kind_weights)[0]
        staff = (
            people.tam_of_account[account_id]
            if kind == Kind.PLANNING
            else rng.choice(people.agent_ids)
        )
        # Cases are created in id order, oldest first, the newest about an hour ago.
        created = now - timedelta(seconds=span * (1 - (i + rng.random()) / total) + 3600)
        age = now - created
        target = rng.choices(statuses, recent_weights if age < RECENT else old_weights)[0]
        plan = _plan(rng, kind, target, m, customer, staff, people.staff_names[staff])
        # The timeline runs from a few hours to two weeks, never into the future.
        length = min(age.total_seconds() - 60, rng.uniform(3 * 3600, 14 * 86400))
        offsets = sorted(rng.random() * length for _ in range(len(plan) - 1))
        times = [created] + [created + timedelta(seconds=o) for o in offsets]
        case_rows.append(_case_row(rng, account_id, customer, kind, subject_of(rng, kind), plan, times))
        plans.append((plan, times))

    case_ids = _insert_cases(case_rows)
    columns = ("case_id", "author_id", "kind", "body", "data", "internal", "created_at")
    event_rows = [
        (case_id, author, str(kind), body, data, internal, at)
        for case_id, (plan, times) in zip(case_ids, plans, strict=True)
        for (kind, author, body, data, internal, _side), at in zip(plan, times, strict=True)
    ]
    _executemany(CaseEvent.__table__, columns, event_rows)
    return len(event_rows)


_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _memoized(process):
    """Serialise each distinct small JSON document once: the generated ones come
    from a handful of shapes, and json.dumps was a quarter of the run."""
    cache: dict = {}

    def run(value):
        try:
            key = tuple(sorted(value.items())) if isinstance(value, dict) else value
            hash(key)
        except TypeError:
            return process(value)
        if key not in cache:
            cache[key] = process(value)
        return cache[key]

    return run


def _with_defaults(table, columns: tuple[str, ...], rows: list[tuple]):
    """Add the model's Python-side defaults for the columns not given, as Core
    would: a column added to the model later must not break the raw path."""
    missing = [
        column
        for column in table.columns
        if column.name not in columns
        and column.default is not None
        and (column.default.is_scalar or column.default.is_callable)
    ]
    if not missing:
        return columns, rows
    scalars = [c.default.arg if c.default.is_scalar else None for c in missing]
    callables = [(i, c.default.arg) for i, c in enumerate(missing) if c.default.is_callable]
    extended = []
    for row in rows:
        values = list(scalars)
        for i, make in callables:
            values[i] = make(None)  # SQLAlchemy wraps defaults to take a context
        extended.append((*row, *values))
    return (*columns, *(c.name for c in missing)), extended


def _executemany(table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT through the driver's own executemany (COPY on PostgreSQL), each value
    converted by its column type's bind processor, as Core would. Core's per-row
    work (a dict per row, parameter construction) was half of the generator's time
    for a million events; this keeps the conversions and drops the rest."""
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    columns, rows = _with_defaults(table, columns, rows)
    placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
    if placeholder is None:  # a driver with another parameter style: let Core do it
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    processors = [
        _memoized(process) if process and isinstance(table.c[name].type, JSON) else process
        for name in columns
        for process in [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)]
    ]
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]
    if converting:
        converted = []
        for row in rows:
            values = list(row)
            for i, process in converting:
                values[i] = process(values[i])
            converted.append(tuple(values))
        rows = converted
    quote = dialect.identifier_preparer
    target = f"{quote.format_table(table)} ({', '.join(quote.quote(c) for c in columns)})"
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        # COPY: executemany costs PostgreSQL a statement per row.
        raw = connection.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    connection.exec_driver_sql(
        f"INSERT INTO {target} VALUES ({', '.join([placeholder] * len(columns))})", rows
    )


def subject_of(rng: random.Random, kind: Kind) -> str:
    return rng.choice(SUBJECTS[kind])


def _case_row(rng, account_id, customer, kind, subject, plan, times) -> dict:
    """The case as the services would have left it after these events."""
    status = Status.NEW
    assignee = None
    first_response = None
    proposed_by = resolution_kind = None
    resolved_at = None
    intake = callback = last_update = None
    awaiting = times[0]
    last_activity = times[0]
    for (event_kind, author, _body, data, internal, side), at in zip(plan, times, strict=True):
        if internal:
            continue
        last_activity = at
        if event_kind == EventKind.STATUS_CHANGED:
            status = Status(data["new"])
        elif event_kind == EventKind.ASSIGNED:
            assignee = author
        elif event_kind == EventKind.RESOLUTION_PROPOSED:
            proposed_by, resolution_kind = side, data["resolution_kind"]
        elif event_kind == EventKind.RESOLUTION_ACCEPTED:
            resolved_at = at
        elif event_kind == EventKind.HOTLINE_INTAKE:
            intake = at
        elif event_kind in (EventKind.CALLBACK_MADE, EventKind.UPDATE_POSTED):
            callback = callback or at
            last_update = at
        if side == "provider" and first_response is None and event_kind in _FIRST_RESPONSE_KINDS:
            first_response = at
        # The provider's clock runs from the customer's move until the provider answers.
        if side == "customer" and awaiting is None:
            awaiting = at
        elif side == "provider" and event_kind in (
            EventKind.INFORMATION_REQUESTED,
            EventKind.RESOLUTION_PROPOSED,
        ):
            awaiting = None
    if status == Status.RESOLVED or status == Status.WAITING_ON_CUSTOMER:
        awaiting = None
    elif status == Status.RESOLUTION_PROPOSED and proposed_by == "customer":
        awaiting = awaiting or times[0]
    if status not in (Status.RESOLUTION_PROPOSED, Status.RESOLVED):
        proposed_by = resolution_kind = None
    running = status != Status.RESOLVED
    critical = kind == Kind.CRITICAL
    return {
        "account_id": account_id,
        "requester_id": customer,
        "assignee_id": assignee,
        "kind": str(kind),
        "status": str(status),
        "priority": 0 if critical else 1,
        "subject": subject,
        "details": DETAILS[kind](rng),
        "awaiting_provider_since": awaiting,
        "proposed_by": proposed_by,
        "resolution_kind": resolution_kind,
        "created_at": times[0],
        "last_activity_at": last_activity,
        "first_response_at": first_response,
        "resolved_at": resolved_at,
        # Running clocks get a due time so queues and sweeps have something to
        # index. Approximate: wall-clock hours, not the account's business hours.
        "first_response_due_at": (
            times[0] + RESPONSE_TARGET
            if running and not critical and first_response is None
            else None
        ),
        "hotline_intake_at": intake,
        "callback_due_at": intake + CALLBACK_TARGET if running and intake and not callback else None,
        "callback_at": callback,
        "next_update_due_at": last_update + UPDATE_INTERVAL if running and last_update else None,
    }
