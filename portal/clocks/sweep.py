"""The minute sweep: warn before a promise breaks, escalate when it has.

| Clock | Warned ("due_soon") | Escalated ("breached") |
|---|---|---|
| callback (critical) | 5 minutes before due | once past due |
| next update (critical) | 5 minutes before due | once past due |
| first response (non-critical) | at 80% of the target (20% of it left) | once past due |

A warning goes to the case's assignee and every active on-duty staff member; an
escalation also to the account's TAM and the administrators, and it is written on
the timeline as an ESCALATED event. Each lands in the recipients' notifications
list on the desk and is handed to ``hand_to_outbox`` (the email channel's hook).

**Once, however often and from however many workers.** Each (clock, stage) is one
``INSERT INTO clock_warning ... SELECT <cases whose due column crossed the line and
have no such warning> ... ON CONFLICT DO NOTHING RETURNING``: the unique key
(case, clock, stage, due_at) decides who sends; only the rows this sweep inserted
come back, and only those are notified. On SQLite the sweep's transaction begins
``IMMEDIATE``, so two sweeps run one after the other; on PostgreSQL the second
waits on the first's uncommitted key and then skips it. Callback and first-response
warnings go out once per case and stage (the "no such warning" test ignores the
due time, so a first-response clock that pauses and resumes is not warned twice);
update warnings once per deadline (each update starts a new one).

**Cost.** Every selection is a range on an indexed due column, which holds running
clocks only (see ``rules``), plus an index probe into ``clock_warning``; the
first-response threshold is computed per account (``latest_within`` on its hours),
not per case. Python touches only the warnings being sent, at most ``BATCH`` per
clock and stage a minute (the rest follow the next minute, oldest due first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, func, literal, select
from sqlalchemy import case as sql_case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from portal.accounts.models import STAFF_ROLES, Account, Role, User
from portal.cases.models import Case, EventKind, Status
from portal.cases.services import add_event
from portal.clocks import clock
from portal.clocks.hours import latest_within
from portal.clocks.models import ClockWarning, Notification
from portal.clocks.rules import DUE_SOON_BEFORE, FIRST_RESPONSE_WARN_SHARE, aware, naive
from portal.clocks.services import schedule_histories
from portal.database import immediate
from portal.extensions import db

BATCH = 1000
THRESHOLD_CHUNK = 400  # accounts per first-response statement (bound parameters)

COLUMNS = {
    "callback": Case.callback_due_at,
    "update": Case.next_update_due_at,
    "first_response": Case.first_response_due_at,
}
# Update warnings are per deadline; the others once per case and stage.
PER_DEADLINE = {"update"}

CLOCK_NAMES = {
    "callback": "Callback",
    "update": "Next update",
    "first_response": "First response",
}


@dataclass
class Warning:
    id: int
    case_id: int
    clock: str
    stage: str
    due_at: datetime
    recipients: list[User] = field(default_factory=list)


def run_sweep(now: datetime | None = None) -> list[Warning]:
    """The worker's unit of work: one sweep, one transaction, committed."""
    db.session.commit()  # start clean: the sweep's own transaction begins below
    with immediate():
        sent = sweep(now)
        db.session.commit()
    return sent


def sweep(now: datetime | None = None) -> list[Warning]:
    now = now or clock.now()
    soon = now + DUE_SOON_BEFORE
    sent: list[Warning] = []
    for name in ("callback", "update"):
        column = COLUMNS[name]
        sent += _insert_warnings(name, "breached", now, column < now)
        sent += _insert_warnings(name, "due_soon", now, column >= now, column <= soon)
    sent += _insert_warnings("first_response", "breached", now, Case.first_response_due_at < now)
    sent += _first_response_due_soon(now)
    if sent:
        _deliver(sent, now)
    return sent


def _insert(table):
    dialect = db.session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def _insert_warnings(name: str, stage: str, now: datetime, *conditions) -> list[Warning]:
    column = COLUMNS[name]
    already = [
        ClockWarning.case_id == Case.id,
        ClockWarning.clock == name,
        ClockWarning.stage == stage,
    ]
    if name in PER_DEADLINE:
        already.append(ClockWarning.due_at == column)
    candidates = (
        select(
            Case.id,
            literal(name, String),
            literal(stage, String),
            column,
            literal(now),
        )
        # "No such warning" as a per-row count on the warning key's index rather than
        # NOT EXISTS: PostgreSQL turns NOT EXISTS into an anti-join whose plan depends
        # on statistics and on the LIMIT; with stale statistics after a bulk load it
        # chose a nested loop over a sequential scan (30 s instead of 0.1 s). A count
        # cannot be pulled up, so it is always one index probe per candidate.
        .where(column.is_not(None), *conditions, select(func.count()).where(*already).scalar_subquery() == 0)
        .order_by(column, Case.id)
        .limit(BATCH)
    )
    statement = (
        _insert(ClockWarning)
        .from_select(["case_id", "clock", "stage", "due_at", "created_at"], candidates)
        .on_conflict_do_nothing()
        .returning(ClockWarning.id, ClockWarning.case_id, ClockWarning.due_at)
    )
    rows = db.session.execute(statement).all()
    return [Warning(id_, case_id, name, stage, due_at) for id_, case_id, due_at in rows]


def first_response_thresholds(now: datetime) -> dict[int, datetime]:
    """Per account, the latest due time that has at most 20% of the target left at
    ``now`` in that account's business hours: a due time at or before it has used
    80% of its target. Computed once per account, never per case."""
    accounts = db.session.scalars(select(Account)).all()
    histories = schedule_histories(accounts)
    share_left = 1 - FIRST_RESPONSE_WARN_SHARE
    thresholds = {}
    for account in accounts:
        budget = timedelta(hours=account.response_target_hours * share_left)
        latest = latest_within(histories[account.id], aware(now), budget)
        if latest is not None:
            thresholds[account.id] = naive(latest)
    return thresholds


def _first_response_due_soon(now: datetime) -> list[Warning]:
    thresholds = first_response_thresholds(now)
    column = Case.first_response_due_at
    sent: list[Warning] = []
    ids = sorted(thresholds)
    for start in range(0, len(ids), THRESHOLD_CHUNK):
        chunk = {i: thresholds[i] for i in ids[start : start + THRESHOLD_CHUNK]}
        per_account = sql_case(chunk, value=Case.account_id)
        sent += _insert_warnings(
            "first_response",
            "due_soon",
            now,
            column >= now,
            # A constant bound keeps the index range short; the per-account bound is
            # NULL (so false) for accounts outside the chunk. (No "account_id IN":
            # it tempts the planner to read every case of those accounts.)
            column <= max(chunk.values()),
            column <= per_account,
        )
    return sent


# Delivery ------------------------------------------------------------------------------


def _active_staff(*conditions) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role.in_(STAFF_ROLES), User.active.is_(True), *conditions)
        )
    )


def recipients_for(case: Case, stage: str, on_duty: list[User], admins: list[User]) -> list[User]:
    people: dict[int, User] = {}
    if case.assignee is not None and case.assignee.active:
        people[case.assignee.id] = case.assignee
    for user in on_duty:
        people.setdefault(user.id, user)
    if stage == "breached":
        tam = case.account.tam
        if tam is not None and tam.active:
            people.setdefault(tam.id, tam)
        for user in admins:
            people.setdefault(user.id, user)
    return list(people.values())


def message_for(warning: Warning, case: Case) -> str:
    clock_name = CLOCK_NAMES[warning.clock]
    where = f"{case.reference} ({case.account.name}): {case.subject}"
    if warning.stage == "due_soon":
        if warning.clock == "first_response":
            return f"{clock_name} due soon, 80% of the target used: {where}"
        return f"{clock_name} due in 5 minutes or less: {where}"
    return f"{clock_name} overdue, escalated to the TAM and administrators: {where}"


def _deliver(sent: list[Warning], now: datetime) -> None:
    cases = {
        c.id: c
        for c in db.session.scalars(
            select(Case)
            .where(Case.id.in_({w.case_id for w in sent}))
            .options(joinedload(Case.account).joinedload(Account.tam), joinedload(Case.assignee))
        )
    }
    on_duty = _active_staff(User.on_duty.is_(True))
    admins = _active_staff(User.role == Role.ADMIN) if any(w.stage == "breached" for w in sent) else []
    rows = []
    for warning in sent:
        case = cases[warning.case_id]
        warning.recipients = recipients_for(case, warning.stage, on_duty, admins)
        message = message_for(warning, case)
        rows += [
            {
                "user_id": user.id,
                "case_id": case.id,
                "warning_id": warning.id,
                "kind": f"{warning.clock}.{warning.stage}",
                "message": message,
                "created_at": now,
            }
            for user in warning.recipients
        ]
        if warning.stage == "breached" and case.status != Status.RESOLVED:
            _escalate(case, warning, now)
        hand_to_outbox(warning, case, message)
    if rows:
        db.session.execute(Notification.__table__.insert(), rows)
    db.session.flush()


def _escalate(case: Case, warning: Warning, now: datetime) -> None:
    notified = [u.name for u in warning.recipients]
    event = add_event(
        case,
        EventKind.ESCALATED,
        None,
        clock=warning.clock,
        due_at=aware(warning.due_at).isoformat(),
        notified=notified,
    )
    event.created_at = now


def hand_to_outbox(warning: Warning, case: Case, message: str) -> None:
    """The one place a clock warning leaves the portal by email.

    Called inside the sweep's transaction, once per warning actually sent: one
    outbox row per recipient, committed or rolled back with the warning. Warnings
    are operational mail to staff, so they ignore notification preferences."""
    from portal.mail.outbox import queue_message

    stage = "Breached" if warning.stage == "breached" else "Due soon"
    for user in warning.recipients:
        queue_message(
            to=user.email,
            subject=f"[{case.reference}] {stage}: {case.subject}",
            body_text=f"{message}\n\nOpen the case on the desk: {case.reference}\n",
            case=case,
            recipient=user,
            automatic=True,
        )
