"""The contract's clocks derived from a case's events, as a pure function.

``derive_clocks`` reads the case's kind, when it was opened and its timeline
(status changes, hotline intake, callback, updates, cadence agreements, the
first public word from support) and says where every clock stands. The stored
due columns, the desk, the sweep and the service report all read it, so there
is one definition of "due" and of "met".

Decisions (see also ``portal.clocks.hours``):

- **First response** (kinds bug, configuration, information): starts when the
  case is opened, runs for the account's target in business hours, pauses while
  the case is ``waiting_on_customer`` (from the STATUS_CHANGED events into and
  out of it), stops at the first public comment, information request or
  resolution proposal by staff (what ``cases.services`` records as the first
  response). Met when that instant is at or before the due time.
- **Callback** (critical): due 15 minutes after the hotline intake, 24/7. Met
  when logged at or before that instant: 14:59 after the intake is met, 15:01
  missed. Only the first intake and the first callback count.
- **Next update** (critical): starts at the callback; each update posted
  restarts it; due an agreed interval later (default 60 minutes, CADENCE_AGREED
  changes it). A change of interval moves the running deadline to the last
  callback or update plus the new interval: agreeing on a longer interval cannot
  hide an update that is already late. The clock stops while a resolution is
  proposed (the fix or workaround is with the customer) and restarts from the
  moment a proposal is disputed; it stops for good at resolution.
- **Due columns hold running clocks only**: a clock that has stopped (met,
  answered, resolved) or is paused stores NULL. The sweep and the queue then scan
  only what can still fall due, and history is recomputed from events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.clocks.hours import (
    Pause,
    ScheduleHistory,
    add_business_time,
    business_time_between,
)

CALLBACK_TARGET = timedelta(minutes=15)
DUE_SOON_BEFORE = timedelta(minutes=5)
FIRST_RESPONSE_WARN_SHARE = 0.8
DEFAULT_UPDATE_MINUTES = 60
FIRST_RESPONSE_KINDS = frozenset({"bug", "configuration", "information"})
FIRST_RESPONSE_EVENTS = frozenset({"comment", "information_requested", "resolution_proposed"})
# Events whose arrival can move a clock; the rest never do.
CLOCK_EVENTS = frozenset({
    "created", "status_changed", "hotline_intake", "callback_made", "update_posted",
    "cadence_agreed", *FIRST_RESPONSE_EVENTS,
})

WAITING = "waiting_on_customer"
PROPOSED = "resolution_proposed"
RESOLVED = "resolved"


@dataclass(frozen=True)
class ClockEvent:
    kind: str
    at: datetime  # aware UTC
    data: dict[str, Any] = field(default_factory=dict)
    by_staff: bool = False
    internal: bool = False


@dataclass
class UpdateDeadline:
    """One stretch of the update clock: due at ``due``; answered by an update at
    ``posted_at``, or ended without one at ``stopped_at`` (resolution proposed)."""

    due: datetime
    posted_at: datetime | None = None
    stopped_at: datetime | None = None

    def outcome(self, now: datetime) -> str | None:
        """'met' | 'missed' | None (not decided yet, or ended before it fell due)."""
        if self.posted_at is not None:
            return "met" if self.posted_at <= self.due else "missed"
        end = self.stopped_at or now
        return "missed" if self.due < end else None


@dataclass
class ClockState:
    kind: str
    opened_at: datetime
    resolved_at: datetime | None = None
    status: str = "new"
    # First response
    first_response_applies: bool = False
    first_response_target: timedelta | None = None
    first_response_at: datetime | None = None
    first_response_due: datetime | None = None
    pauses: list[Pause] = field(default_factory=list)
    paused_since: datetime | None = None
    first_response_left: timedelta | None = None  # business time left, while paused
    # Critical
    hotline_intake_at: datetime | None = None
    callback_at: datetime | None = None
    update_interval_minutes: int = DEFAULT_UPDATE_MINUTES
    update_anchor: datetime | None = None
    update_deadlines: list[UpdateDeadline] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def callback_due(self) -> datetime | None:
        return self.hotline_intake_at + CALLBACK_TARGET if self.hotline_intake_at else None

    @property
    def callback_running(self) -> bool:
        return self.is_open and self.hotline_intake_at is not None and self.callback_at is None

    @property
    def next_update_due(self) -> datetime | None:
        if not self.is_open or self.update_anchor is None:
            return None
        return self.update_anchor + timedelta(minutes=self.update_interval_minutes)

    @property
    def first_response_running(self) -> bool:
        return (
            self.first_response_applies
            and self.is_open
            and self.first_response_at is None
            and self.paused_since is None
            and self.first_response_due is not None
        )

    def first_response_outcome(self, now: datetime) -> str | None:
        """'met' | 'missed' | None (not due yet, not applicable, never answerable)."""
        if not self.first_response_applies or self.first_response_due is None:
            return None
        if self.first_response_at is not None:
            return "met" if self.first_response_at <= self.first_response_due else "missed"
        end = self.resolved_at or now
        if self.paused_since is not None:
            end = min(end, self.paused_since)
        return "missed" if self.first_response_due < end else None

    def callback_outcome(self, now: datetime) -> str | None:
        if self.hotline_intake_at is None:
            return None
        due = self.callback_due
        if self.callback_at is not None:
            return "met" if self.callback_at <= due else "missed"
        return "missed" if due < (self.resolved_at or now) else None

    @property
    def callback_time(self) -> timedelta | None:
        if self.hotline_intake_at is None or self.callback_at is None:
            return None
        return self.callback_at - self.hotline_intake_at

    def columns(self) -> dict[str, Any]:
        """The values stored on the case: due times of running clocks only, naive UTC."""
        return {
            "first_response_due_at": naive(self.first_response_due) if self.first_response_running else None,
            "hotline_intake_at": naive(self.hotline_intake_at),
            "callback_due_at": naive(self.callback_due) if self.callback_running else None,
            "callback_at": naive(self.callback_at),
            "update_interval_minutes": self.update_interval_minutes,
            "next_update_due_at": naive(self.next_update_due),
        }


def aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def naive(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def derive_clocks(
    kind: str,
    opened_at: datetime,
    events: Sequence[ClockEvent],
    history: ScheduleHistory | None = None,
    target_hours: float = 8,
    first_response_at: datetime | None = None,
) -> ClockState:
    """Where each clock of one case stands, from its events (in timeline order).

    ``history`` is needed only for the first-response clock; ``first_response_at``
    is the case's own record of it, used when earlier than any event says."""
    state = ClockState(kind=kind, opened_at=aware(opened_at))
    state.first_response_applies = kind in FIRST_RESPONSE_KINDS and history is not None
    state.first_response_at = aware(first_response_at)
    status = "new"
    for event in events:
        at = aware(event.at)
        if event.kind == "status_changed":
            new = event.data.get("new", "")
            _leave(state, status, new, at)
            status = new
        elif event.kind == "hotline_intake":
            if state.hotline_intake_at is None and state.is_open:
                state.hotline_intake_at = at
        elif event.kind == "callback_made":
            if state.callback_at is None and state.hotline_intake_at is not None and state.is_open:
                state.callback_at = at
                if status != PROPOSED:
                    state.update_anchor = at
        elif event.kind == "cadence_agreed":
            minutes = event.data.get("minutes")
            if isinstance(minutes, int) and minutes > 0:
                state.update_interval_minutes = minutes
        elif event.kind == "update_posted" and state.update_anchor is not None and state.is_open:
            state.update_deadlines.append(UpdateDeadline(state.next_update_due, posted_at=at))
            state.update_anchor = at
        if (
            event.kind in FIRST_RESPONSE_EVENTS
            and event.by_staff
            and not event.internal
            and (state.first_response_at is None or at < state.first_response_at)
        ):
            state.first_response_at = at
    state.status = status
    if state.is_open and state.update_anchor is not None:
        state.update_deadlines.append(UpdateDeadline(state.next_update_due))
    if state.first_response_applies:
        _first_response(state, history, target_hours)
    return state


def _leave(state: ClockState, old: str, new: str, at: datetime) -> None:
    """What a status change does to the clocks."""
    if new == WAITING and state.paused_since is None:
        state.paused_since = at
    elif new != WAITING and state.paused_since is not None:
        state.pauses.append((state.paused_since, at))
        state.paused_since = None
    if new in (PROPOSED, RESOLVED) and state.update_anchor is not None:
        state.update_deadlines.append(UpdateDeadline(state.next_update_due, stopped_at=at))
        state.update_anchor = None
    elif old == PROPOSED and new not in (PROPOSED, RESOLVED) and state.callback_at is not None:
        state.update_anchor = at  # a disputed resolution: the work, and the updates, go on
    if new == RESOLVED:
        state.resolved_at = at


def _first_response(state: ClockState, history: ScheduleHistory, target_hours: float) -> None:
    target = timedelta(hours=target_hours)
    state.first_response_target = target
    pauses = list(state.pauses)
    if state.first_response_at is not None:
        # Only the pauses before the answer matter.
        pauses = [(a, min(b, state.first_response_at)) for a, b in pauses if a < state.first_response_at]
        state.paused_since = None
        state.first_response_due = add_business_time(history, state.opened_at, target, pauses)
        return
    if state.paused_since is not None:
        used = business_time_between(history, state.opened_at, state.paused_since, pauses)
        state.first_response_left = max(target - used, timedelta(0))
        # Set only when the target had already passed before the pause began.
        state.first_response_due = add_business_time(
            history, state.opened_at, target, [*pauses, (state.paused_since, None)]
        )
        return
    state.first_response_due = add_business_time(history, state.opened_at, target, pauses)
