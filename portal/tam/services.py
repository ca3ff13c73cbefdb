"""The account's Technical Account Manager: planning requests go to them, and the
TAM page says when they can be reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.accounts.models import Account, User
from portal.cases.models import Case, EventKind, Kind
from portal.cases.services import add_event, event_added
from portal.clocks.hours import next_change
from portal.clocks.services import schedule_history, upcoming_windows


def assign_planning_request(case: Case, event=None, **_) -> None:
    """A new planning request is assigned to the account's TAM in the transaction
    that opens it (a receiver of ``event_added``), so it never waits in the
    general queue. Without a TAM, or with a deactivated one, it stays unassigned
    and the support team picks it up like any other case."""
    if event is None or event.kind != EventKind.CREATED or case.kind != Kind.PLANNING:
        return
    tam = case.account.tam
    if tam is None or not tam.active or not tam.is_staff:
        return
    case.assignee = tam
    add_event(
        case,
        EventKind.ASSIGNED,
        None,
        assignee_id=tam.id,
        assignee_name=tam.name,
        reason="Planning requests go to the account's TAM.",
    )


def connect_receivers() -> None:
    # A module-level function: blinker's weak reference keeps it for the process.
    event_added.connect(assign_planning_request)


@dataclass(frozen=True)
class Reachability:
    reachable: bool
    until: datetime | None  # closes at (reachable) or opens at (not reachable); None: never
    upcoming: list[tuple[datetime, datetime]]  # the next business-hour windows, in UTC
    hours: dict  # the weekly hours in force now, {"mon": [["09:00", "17:00"]], ...}
    timezone: str  # the zone those hours are in


def reachability(account: Account, now: datetime, windows: int = 5) -> Reachability:
    """Whether the TAM can be reached at ``now`` (aware): the account's business
    hours as the clocks read them (the version in force, public holidays and closed
    dates included), so the page and the response clock never disagree."""
    history = schedule_history(account)
    reachable, until = next_change(history, now)
    # From a day back, so the window open now is shown whole rather than from now.
    upcoming = [(o, c) for o, c in upcoming_windows(account, now - timedelta(days=1), 20) if c > now]
    version = history.version_at(now)
    return Reachability(reachable, until, upcoming[:windows], dict(version.hours), version.timezone)


def tam_of(account: Account) -> User | None:
    tam = account.tam
    return tam if tam is not None and tam.active else None


DAY_LABELS = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}


def weekly_hours(hours: dict) -> list[tuple[str, str]]:
    """{"mon": [["09:00", "17:00"]], ...} as rows, runs of days with the same hours
    joined: [("Mon–Fri", "09:00–17:00"), ("Sat", "10:00–14:00")]."""
    rows: list[tuple[list[str], str]] = []
    previous = None
    for day in DAY_LABELS:
        spans = ", ".join(f"{start}–{end}" for start, end in hours.get(day, []))
        if spans and rows and rows[-1][1] == spans and previous is not None:
            rows[-1][0].append(day)
        elif spans:
            rows.append(([day], spans))
        previous = day if spans else None
    return [
        (DAY_LABELS[d[0]] if len(d) == 1 else f"{DAY_LABELS[d[0]]}–{DAY_LABELS[d[-1]]}", spans)
        for d, spans in rows
    ]
