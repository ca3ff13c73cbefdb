"""What the clocks look like to whoever is looking: states and tones decided here,
so templates only display.

Tones follow the desk's rule: ``ok`` (green) while more than half the time is
left, ``neutral`` in between, ``warn`` (amber) under 20% left, ``late`` (red) once
breached, ``paused`` and ``done`` for stopped clocks. The share left of a
first-response target is measured in business time; of a callback or an update
in plain minutes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.accounts.models import User
from portal.cases.models import Case, Kind, Status
from portal.clocks import clock
from portal.clocks.hours import ScheduleHistory, business_time_between
from portal.clocks.rules import CALLBACK_TARGET, FIRST_RESPONSE_KINDS, aware, naive
from portal.clocks.services import derive_for, schedule_histories, schedule_history

# Colours come from the status palette until the stylesheet has clock tones of its own.
TONE_CLASSES = {
    "ok": "status-resolved",
    "neutral": "",
    "warn": "status-waiting_on_customer",
    "late": "kind-critical",
    "paused": "",
    "done": "status-resolved",
}
STATE_LABELS = {"met": "met", "missed": "missed", "waiting": "not started", "stopped": "paused"}
TONE_LABELS = {
    "ok": "on track",
    "neutral": "running",
    "warn": "due soon",
    "late": "overdue",
    "paused": "paused",
    "done": "done",
}


def tone(left: timedelta, total: timedelta) -> str:
    if left < timedelta(0):
        return "late"
    if total <= timedelta(0):
        return "warn"
    share = left / total
    if share > 0.5:
        return "ok"
    if share < 0.2:
        return "warn"
    return "neutral"


@dataclass
class ClockLine:
    key: str  # first_response | callback | update
    label: str
    state: str  # running | paused | met | missed | waiting | stopped
    tone: str
    due: datetime | None = None  # naive UTC
    at: datetime | None = None  # when it stopped (answer, callback)
    left: timedelta | None = None  # business time left, while paused
    minutes: int | None = None  # update interval; minutes to callback

    @property
    def tone_label(self) -> str:
        """The badge's words: how a running clock stands, or how a stopped one ended."""
        return STATE_LABELS.get(self.state) or TONE_LABELS[self.tone]

    @property
    def tone_class(self) -> str:
        return f"tone-{self.tone} {TONE_CLASSES[self.tone]}".strip()


def _first_response_line(case: Case, history: ScheduleHistory | None, now: datetime, detailed: bool) -> ClockLine | None:
    if case.first_response_due_at is not None:
        total = timedelta(hours=case.account.response_target_hours)
        if history is None:
            history = schedule_history(case.account)
        if case.first_response_due_at < now:
            left = case.first_response_due_at - now
        else:
            left = business_time_between(history, aware(now), aware(case.first_response_due_at))
        return ClockLine("first_response", "First response", "running", tone(left, total), due=case.first_response_due_at)
    if not detailed:
        return None
    state = derive_for(case, history)
    if not state.first_response_applies:
        return None
    if state.first_response_at is not None:
        met = state.first_response_outcome(aware(now)) == "met"
        return ClockLine(
            "first_response", "First response", "met" if met else "missed", "done" if met else "late",
            due=naive(state.first_response_due), at=naive(state.first_response_at),
        )
    if state.paused_since is not None and case.is_open:
        return ClockLine("first_response", "First response", "paused", "paused", left=state.first_response_left)
    return None


def case_clocks(case: Case, viewer: User, now: datetime | None = None, detailed: bool = True) -> list[ClockLine]:
    """The clock lines of a case's side panel (and, undetailed, of a queue row)."""
    now = now or clock.now()
    lines: list[ClockLine] = []
    if case.kind in FIRST_RESPONSE_KINDS:
        line = _first_response_line(case, None, now, detailed)
        if line:
            lines.append(line)
    if case.kind != Kind.CRITICAL:
        return lines
    if case.hotline_intake_at is None:
        if case.is_open:
            lines.append(ClockLine("callback", "Callback", "waiting", "neutral"))
    elif case.callback_at is None:
        if case.callback_due_at is not None:
            left = case.callback_due_at - now
            lines.append(
                ClockLine("callback", "Callback", "running", tone(left, CALLBACK_TARGET), due=case.callback_due_at)
            )
    else:
        minutes = (case.callback_at - case.hotline_intake_at) / timedelta(minutes=1)
        met = case.callback_at <= case.hotline_intake_at + CALLBACK_TARGET
        lines.append(
            ClockLine(
                "callback", "Callback", "met" if met else "missed", "done" if met else "late",
                at=case.callback_at, minutes=round(minutes),
            )
        )
    if case.next_update_due_at is not None:
        interval = timedelta(minutes=case.update_interval_minutes)
        lines.append(
            ClockLine(
                "update", "Next update", "running", tone(case.next_update_due_at - now, interval),
                due=case.next_update_due_at, minutes=case.update_interval_minutes,
            )
        )
    elif case.callback_at is not None and case.is_open and case.status == Status.RESOLUTION_PROPOSED:
        lines.append(ClockLine("update", "Next update", "stopped", "paused", minutes=case.update_interval_minutes))
    return lines


def running_clock(case: Case, histories: dict[int, ScheduleHistory], now: datetime) -> ClockLine | None:
    """The one clock that decides a queue row's "due in": callback, else next update,
    else first response (a case has at most one of them running)."""
    if case.callback_due_at is not None:
        return ClockLine("callback", "Callback", "running", tone(case.callback_due_at - now, CALLBACK_TARGET), due=case.callback_due_at)
    if case.next_update_due_at is not None:
        interval = timedelta(minutes=case.update_interval_minutes)
        return ClockLine("update", "Next update", "running", tone(case.next_update_due_at - now, interval), due=case.next_update_due_at)
    if case.first_response_due_at is not None:
        return _first_response_line(case, histories.get(case.account_id), now, detailed=False)
    return None


def queue_clocks(cases: Iterable[Case], now: datetime | None = None) -> dict[int, ClockLine | None]:
    """Each queue row's running clock; the accounts' hours in one query."""
    now = now or clock.now()
    cases = list(cases)
    needs_hours = {c.account_id: c.account for c in cases if c.first_response_due_at is not None}
    histories = schedule_histories(needs_hours.values()) if needs_hours else {}
    return {case.id: running_clock(case, histories, now) for case in cases}


def countdown(due: datetime | None, now: datetime | None = None) -> str:
    """'in 7 min', 'in 1 h 05 min', '3 min overdue': a live countdown's words."""
    if due is None:
        return ""
    now = now or clock.now()
    seconds = int((due - now).total_seconds())
    late, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        return "overdue by under a minute" if late else "in under a minute"
    minutes = seconds // 60
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes:02d} min"
    else:
        text = f"{minutes} min"
    return f"{text} overdue" if late else f"in {text}"


def business_left_text(left: timedelta | None) -> str:
    if left is None:
        return ""
    minutes = int(left.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
