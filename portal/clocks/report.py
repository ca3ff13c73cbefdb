"""The service report: how one account's cases opened in one month (in the
account's time zone) fared against the contract's clocks.

Every figure is judged by ``rules.derive_clocks``, the same function that sets the
due columns, so the report cannot disagree with what the desk showed. A clock still
running at report time counts as neither met nor missed until it falls due; a
deadline that passed unanswered counts as missed.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import median

from sqlalchemy import select

from portal.accounts.models import Account
from portal.cases.models import KIND_LABELS, Case, Kind
from portal.clocks import clock
from portal.clocks.rules import ClockState, aware, derive_clocks
from portal.clocks.services import clock_events_of, schedule_history
from portal.extensions import db


@dataclass
class ServiceReport:
    account: Account
    year: int
    month: int
    now: datetime
    cases: list[tuple[Case, ClockState]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def by_kind(self) -> list[tuple[str, int]]:
        counts = Counter(case.kind for case, _ in self.cases)
        return [(KIND_LABELS[k], counts[k]) for k in Kind if counts[k]]

    def _outcomes(self, judge) -> Counter:
        return Counter(judge(state) for _, state in self.cases)

    @property
    def first_responses(self) -> Counter:
        return self._outcomes(lambda s: s.first_response_outcome(aware(self.now)))

    @property
    def callbacks(self) -> Counter:
        return self._outcomes(lambda s: s.callback_outcome(aware(self.now)))

    @property
    def callback_times(self) -> list[timedelta]:
        return [s.callback_time for _, s in self.cases if s.callback_time is not None]

    @property
    def updates(self) -> Counter:
        counts: Counter = Counter()
        for _, state in self.cases:
            for deadline in state.update_deadlines:
                counts[deadline.outcome(aware(self.now))] += 1
        return counts

    @property
    def resolution_times(self) -> list[timedelta]:
        return [
            state.resolved_at - state.opened_at
            for _, state in self.cases
            if state.resolved_at is not None
        ]

    def rows(self) -> list[tuple[str, str]]:
        """(metric, value) in reading order: the HTML table and the CSV both show these."""
        fr, cb, up = self.first_responses, self.callbacks, self.updates
        rows = [("Cases opened", str(len(self.cases)))]
        rows += [(f"Cases opened: {label}", str(n)) for label, n in self.by_kind]
        rows += [
            ("First responses met", str(fr["met"])),
            ("First responses missed", str(fr["missed"])),
            ("First responses met (share)", share(fr["met"], fr["met"] + fr["missed"])),
            ("First responses still running", str(self._count(self._first_response_running))),
            ("Callbacks within 15 minutes", str(cb["met"])),
            ("Callbacks later or not made", str(cb["missed"])),
            ("Callbacks within 15 minutes (share)", share(cb["met"], cb["met"] + cb["missed"])),
            ("Median callback time", duration_text(median(self.callback_times)) if self.callback_times else "–"),
            ("Updates on time", str(up["met"])),
            ("Updates late or missed", str(up["missed"])),
            ("Updates on time (share)", share(up["met"], up["met"] + up["missed"])),
            ("Cases resolved by agreement", str(len(self.resolution_times))),
            ("Median time to agreed resolution", duration_text(median(self.resolution_times)) if self.resolution_times else "–"),
        ]
        return rows

    def _count(self, test) -> int:
        return sum(1 for _, state in self.cases if test(state))

    def _first_response_running(self, state: ClockState) -> bool:
        """Open, unanswered and not yet due (or paused): judged later."""
        return (
            state.first_response_applies
            and state.is_open
            and state.first_response_at is None
            and state.first_response_outcome(aware(self.now)) is None
        )

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["account", "month", "metric", "value"])
        for metric, value in self.rows():
            writer.writerow([_cell(self.account.name), self.label, metric, value])
        return out.getvalue()


def _cell(text: str) -> str:
    """A spreadsheet must not read an account name as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def duration_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s"


def month_bounds(account: Account, year: int, month: int) -> tuple[datetime, datetime]:
    """The month in the account's zone, as naive UTC bounds [start, end)."""
    zone = account.zone
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return (
        start.astimezone(UTC).replace(tzinfo=None),
        end.astimezone(UTC).replace(tzinfo=None),
    )


def build_report(account: Account, year: int, month: int, now: datetime | None = None) -> ServiceReport:
    now = now or clock.now()
    start, end = month_bounds(account, year, month)
    cases = db.session.scalars(
        select(Case)
        .where(Case.account_id == account.id, Case.created_at >= start, Case.created_at < end)
        .order_by(Case.id)
    ).all()
    events = clock_events_of(c.id for c in cases)
    history = schedule_history(account)
    report = ServiceReport(account, year, month, now)
    for case in cases:
        state = derive_clocks(
            case.kind,
            case.created_at,
            events[case.id],
            history,
            target_hours=account.response_target_hours,
            first_response_at=case.first_response_at,
        )
        report.cases.append((case, state))
    return report
