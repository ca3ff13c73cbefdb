"""The clocks as services: business-hours versions, the critical path (hotline
intake, callback, agreed cadence, updates), and ``recompute_clocks`` that keeps a
case's due columns equal to what its events say.

Like ``cases.services``: functions check who may act, write the timeline event
and flush; the view commits. They take ``now`` for tests; by default the time
comes from ``portal.clocks.clock``.

Importing this module connects ``recompute_clocks`` to ``cases.services.event_added``,
so every lifecycle event that can move a clock (opening, status changes, the first
staff answer) updates the due columns in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select

from portal.accounts.models import Account, AuditLog, Role, User
from portal.cases.models import Case, CaseEvent, EventKind, Kind
from portal.cases.services import (
    _record_first_response,
    _require_open,
    _require_staff,
    _require_visible,
    add_event,
    event_added,
    lock_case,
)
from portal.clocks import clock
from portal.clocks.hours import Schedule, ScheduleError, ScheduleHistory, check_country, next_change
from portal.clocks.models import BusinessSchedule
from portal.clocks.rules import (
    CALLBACK_TARGET,
    CLOCK_EVENTS,
    DEFAULT_UPDATE_MINUTES,
    FIRST_RESPONSE_EVENTS,
    FIRST_RESPONSE_KINDS,
    ClockEvent,
    ClockState,
    aware,
    derive_clocks,
    naive,
)
from portal.errors import Conflict, PermissionDenied
from portal.extensions import db

MAX_UPDATE_MINUTES = 24 * 60


# Business hours ----------------------------------------------------------------------


def _version(row: BusinessSchedule, first: bool) -> Schedule:
    return Schedule(
        row.timezone,
        row.hours,
        holiday_country=row.holiday_country,
        closed_dates=frozenset(date.fromisoformat(d) for d in row.closed_dates or ()),
        effective_from=None if first else aware(row.effective_from),
    )


def _from_account(account: Account) -> Schedule:
    return Schedule(account.timezone, account.business_hours or {})


def _history(account: Account, rows: list[BusinessSchedule]) -> ScheduleHistory:
    """Versions from the rows; an account without rows has its own fields as its only version."""
    if not rows:
        return ScheduleHistory([_from_account(account)])
    rows = sorted(rows, key=lambda r: (r.effective_from, r.id))
    return ScheduleHistory(_version(row, i == 0) for i, row in enumerate(rows))


def schedule_rows(account_id: int) -> list[BusinessSchedule]:
    return list(
        db.session.scalars(
            select(BusinessSchedule)
            .where(BusinessSchedule.account_id == account_id)
            .order_by(BusinessSchedule.effective_from, BusinessSchedule.id)
        )
    )


def schedule_history(account: Account) -> ScheduleHistory:
    return _history(account, schedule_rows(account.id))


def schedule_histories(accounts: Iterable[Account]) -> dict[int, ScheduleHistory]:
    """Histories of several accounts in one query (queues, sweeps, reports)."""
    accounts = {a.id: a for a in accounts}
    rows: dict[int, list[BusinessSchedule]] = {i: [] for i in accounts}
    if accounts:
        for row in db.session.scalars(
            select(BusinessSchedule).where(BusinessSchedule.account_id.in_(accounts))
        ):
            rows[row.account_id].append(row)
    return {i: _history(accounts[i], rows[i]) for i in accounts}


def reachability(account: Account, moment: datetime) -> tuple[bool, datetime | None]:
    """(open now, until when) or (False, next opening), honouring versions and holidays."""
    is_open, when = next_change(schedule_history(account), aware(moment))
    return is_open, when


def upcoming_windows(account: Account, moment: datetime, count: int = 5) -> list[tuple[datetime, datetime]]:
    """The account's next business-hour windows from ``moment`` (aware, UTC), with
    versions, holidays and closed dates honoured: for pages that list when the TAM
    can be reached (``Account.windows_around`` knows only the weekly hours)."""
    windows = []
    for window in schedule_history(account).open_intervals(aware(moment)):
        windows.append(window)
        if len(windows) == count:
            break
    return windows


def can_edit_hours(user: User, account: Account) -> bool:
    return user.role == Role.ADMIN or (user.role == Role.TAM and account.tam_id == user.id)


def can_see_account(user: User, account: Account) -> bool:
    if user.role == Role.TAM:
        return account.tam_id == user.id
    return user.role in (Role.AGENT, Role.ADMIN)


def change_schedule(
    account: Account,
    by: User,
    timezone: str,
    hours: dict,
    holiday_country: str | None = None,
    closed_dates: Iterable[date] = (),
    note: str = "",
    response_target_hours: int | None = None,
    effective_from: datetime | None = None,
) -> BusinessSchedule:
    """Append a version of the account's hours. The old value stays as the previous
    row; an account that had none gets its former hours written first, in force since
    the account was created, so the history is complete.

    The account's own ``timezone`` and ``business_hours`` follow the version in force
    (the customer's home page and the demo data read them); open cases' due times are
    recomputed under the new hours."""
    if not can_edit_hours(by, account):
        raise PermissionDenied("Only the account's TAM or an administrator can change its hours.")
    now = clock.now()
    effective_from = naive(aware(effective_from)) if effective_from else now
    if effective_from > now:
        # Hours take effect when saved: a future version would leave the account's own
        # fields (read by the home page) wrong until someone copied it over.
        raise Conflict("New hours take effect when they are saved; a future date is not supported.")
    closed = sorted({d.isoformat() for d in closed_dates})
    try:
        Schedule(timezone, hours)
        if holiday_country:
            check_country(holiday_country)
    except ScheduleError as error:
        raise Conflict(str(error)) from None
    rows = schedule_rows(account.id)
    if not rows:
        db.session.add(
            BusinessSchedule(
                account_id=account.id,
                effective_from=min(account.created_at or effective_from, effective_from),
                timezone=account.timezone,
                hours=account.business_hours or {},
                holiday_country=None,
                closed_dates=[],
                note="Hours before they were first edited here.",
                created_at=now,
            )
        )
    row = BusinessSchedule(
        account_id=account.id,
        effective_from=effective_from,
        timezone=timezone,
        hours=hours,
        holiday_country=holiday_country or None,
        closed_dates=closed,
        changed_by_id=by.id,
        note=note.strip(),
        created_at=now,
    )
    db.session.add(row)
    if response_target_hours is not None and response_target_hours != account.response_target_hours:
        db.session.add(
            AuditLog(
                actor_id=by.id,
                action="account.response_target",
                target=account.name,
                details=f"{account.response_target_hours} -> {response_target_hours} business hours",
            )
        )
        account.response_target_hours = response_target_hours
    if effective_from <= now:
        account.timezone = timezone
        account.business_hours = hours
    db.session.flush()
    recompute_open_cases(account)
    return row


def recompute_open_cases(account: Account) -> int:
    """After the hours or the target changed: every open case of the account that has
    a first-response clock. (The number of open cases of one account, not of all.)"""
    cases = db.session.scalars(
        select(Case).where(
            Case.account_id == account.id,
            Case.status != "resolved",
            Case.kind.in_(FIRST_RESPONSE_KINDS),
        )
    ).all()
    history = schedule_history(account)
    for case in cases:
        recompute_clocks(case, history=history)
    db.session.flush()
    return len(cases)


# Deriving the clocks ---------------------------------------------------------------------


def clock_events_of(case_ids: Iterable[int]) -> dict[int, list[ClockEvent]]:
    """The events that can move a clock, per case, in timeline order: one query."""
    events: dict[int, list[ClockEvent]] = {i: [] for i in case_ids}
    if not events:
        return events
    rows = db.session.execute(
        select(
            CaseEvent.case_id, CaseEvent.kind, CaseEvent.created_at, CaseEvent.data,
            CaseEvent.internal, User.role,
        )
        .outerjoin(User, CaseEvent.author_id == User.id)
        .where(CaseEvent.case_id.in_(events), CaseEvent.kind.in_(CLOCK_EVENTS))
        .order_by(CaseEvent.case_id, CaseEvent.id)
    )
    for case_id, kind, at, data, internal, role in rows:
        events[case_id].append(
            ClockEvent(
                kind, aware(at), data or {},
                by_staff=role is not None and role != Role.CUSTOMER, internal=internal,
            )
        )
    return events


def clock_events(case: Case) -> list[ClockEvent]:
    return clock_events_of([case.id])[case.id]


def derive_for(
    case: Case,
    history: ScheduleHistory | None = None,
    events: list[ClockEvent] | None = None,
) -> ClockState:
    if case.kind in FIRST_RESPONSE_KINDS and history is None:
        history = schedule_history(case.account)
    return derive_clocks(
        case.kind,
        case.created_at,
        clock_events(case) if events is None else events,
        history,
        target_hours=case.account.response_target_hours,
        first_response_at=case.first_response_at,
    )


def recompute_clocks(
    case: Case,
    history: ScheduleHistory | None = None,
    events: list[ClockEvent] | None = None,
) -> ClockState:
    """Set the case's due columns from the case and its events."""
    state = derive_for(case, history, events)
    for name, value in state.columns().items():
        if getattr(case, name) != value:
            setattr(case, name, value)
    return state


def recompute_many(cases: list[Case]) -> None:
    """``recompute_clocks`` for a batch: events and hours in two queries."""
    events = clock_events_of(c.id for c in cases)
    histories = schedule_histories({c.account_id: c.account for c in cases}.values())
    for case in cases:
        recompute_clocks(case, histories[case.account_id], events[case.id])


@event_added.connect
def _follow_event(case: Case, event: CaseEvent, **_) -> None:
    if event.kind not in CLOCK_EVENTS:
        return
    if event.kind in FIRST_RESPONSE_EVENTS and (
        event.internal or case.first_response_due_at is None or event.author is None or not event.author.is_staff
    ):
        return  # only the first staff answer moves a clock, and only a running one
    recompute_clocks(case)


# The critical path ----------------------------------------------------------------------


def _require_critical(case: Case) -> None:
    if case.kind != Kind.CRITICAL:
        raise Conflict(f"{case.reference} is not a critical case: the hotline clocks do not apply.")


def _stamp(case: Case, event: CaseEvent, now: datetime) -> CaseEvent:
    """Events carry the clocks' time (the injectable one); then the columns follow."""
    event.created_at = now
    db.session.flush()
    recompute_clocks(case)
    db.session.flush()
    return event


def intake_defaults(case: Case) -> dict[str, str]:
    """What the agent's intake form starts with: from the case, the account, the requester."""
    requester = case.requester
    return {
        "company": case.account.name,
        "contact_name": requester.name,
        "phone": (case.details or {}).get("contact_phone") or requester.phone or "",
        "email": requester.email,
        "description": case.subject,
    }


def log_hotline_intake(
    case: Case,
    by: User,
    company: str,
    contact_name: str,
    phone: str,
    email: str,
    description: str,
    now: datetime | None = None,
) -> CaseEvent:
    """The hotline call, as taken: starts the 15-minute callback clock (24/7)."""
    _require_staff(by, "log a hotline intake")
    _require_visible(by, case)
    _require_open(case)
    _require_critical(case)
    if case.hotline_intake_at is not None:
        raise Conflict(f"The hotline intake for {case.reference} is already logged.")
    lock_case(case)
    event = add_event(
        case,
        EventKind.HOTLINE_INTAKE,
        by,
        body=description.strip(),
        company=company.strip(),
        contact_name=contact_name.strip(),
        phone=phone.strip(),
        email=email.strip(),
    )
    return _stamp(case, event, now or clock.now())


def log_callback(
    case: Case,
    by: User,
    interval_minutes: int = DEFAULT_UPDATE_MINUTES,
    note: str = "",
    now: datetime | None = None,
) -> CaseEvent:
    """The agent called the customer back: stops the callback clock, and the update
    interval agreed on the call starts the next-update clock."""
    _require_staff(by, "log the callback")
    _require_visible(by, case)
    _require_open(case)
    _require_critical(case)
    if case.hotline_intake_at is None:
        raise Conflict("Log the hotline intake first: the callback clock starts there.")
    if case.callback_at is not None:
        raise Conflict(f"The callback for {case.reference} is already logged.")
    _check_interval(interval_minutes)
    now = now or clock.now()
    lock_case(case)
    met = now <= case.hotline_intake_at + CALLBACK_TARGET
    event = add_event(
        case,
        EventKind.CALLBACK_MADE,
        by,
        body=note.strip(),
        minutes_after_intake=round((now - case.hotline_intake_at).total_seconds() / 60, 1),
        within_target=met,
    )
    _stamp(case, event, now)
    cadence = add_event(case, EventKind.CADENCE_AGREED, by, minutes=interval_minutes, previous=None)
    _stamp(case, cadence, now)
    _provider_answered(case, by, now)
    return event


def _provider_answered(case: Case, by: User, now: datetime) -> None:
    """A callback or an update is support's answer, as a staff reply is: a new case
    goes into progress, and the wait on support starts over."""
    _record_first_response(case, by)
    if case.awaiting_provider_since is not None:
        case.awaiting_provider_since = now
    db.session.flush()


def _check_interval(minutes: int) -> None:
    if not isinstance(minutes, int) or not 1 <= minutes <= MAX_UPDATE_MINUTES:
        raise Conflict(f"The update interval is a whole number of minutes from 1 to {MAX_UPDATE_MINUTES}.")


def agree_cadence(
    case: Case, by: User, minutes: int, note: str = "", now: datetime | None = None
) -> CaseEvent:
    _require_staff(by, "agree the update interval")
    _require_visible(by, case)
    _require_open(case)
    _require_critical(case)
    _check_interval(minutes)
    if case.callback_at is None:
        raise Conflict("The update interval is agreed at the callback: log the callback first.")
    if minutes == case.update_interval_minutes:
        raise Conflict(f"Updates are already agreed every {minutes} minutes.")
    lock_case(case)
    event = add_event(
        case,
        EventKind.CADENCE_AGREED,
        by,
        body=note.strip(),
        minutes=minutes,
        previous=case.update_interval_minutes,
    )
    return _stamp(case, event, now or clock.now())


def post_update(case: Case, by: User, body: str, now: datetime | None = None) -> CaseEvent:
    """A periodic update to the customer (public); restarts the next-update clock."""
    _require_staff(by, "post updates")
    _require_visible(by, case)
    _require_open(case)
    _require_critical(case)
    if not body.strip():
        raise Conflict("Write the update.")
    now = now or clock.now()
    lock_case(case)
    event = add_event(case, EventKind.UPDATE_POSTED, by, body=body.strip())
    _stamp(case, event, now)
    _provider_answered(case, by, now)
    return event


def staff_case_clock_actions(case: Case, user: User) -> dict[str, bool]:
    """Which clock actions the staff member may take on the case right now."""
    critical = case.kind == Kind.CRITICAL and case.is_open and user.is_staff
    return {
        "can_log_intake": critical and case.hotline_intake_at is None,
        "can_log_callback": critical and case.hotline_intake_at is not None and case.callback_at is None,
        "can_post_update": critical and case.callback_at is not None,
        "can_agree_cadence": critical and case.callback_at is not None,
    }
