"""Business-time arithmetic, kept pure: no database, no clock, only values.

Every instant going in or out is an aware datetime; results are in UTC. Local
wall-clock hours become UTC intervals through ``zoneinfo``, and all arithmetic
happens on those intervals, so a daylight-saving change simply makes a window
an hour shorter or longer, the way a person working it experiences it.

Rules, decided here once:

- **Versions.** A schedule version is in force from its ``effective_from`` until
  the next version's. The earliest version also covers everything before it
  (an account's first hours held since the account existed).
- **Spans.** Hours are per weekday as ``[["09:00", "12:00"], ["13:00", "17:00"]]``
  (split days). An end at or before its start runs past midnight into the next
  day (``["22:00", "02:00"]``; ``["00:00", "00:00"]`` is a whole day); ``"24:00"``
  is accepted as an end and means midnight.
- **Closed days.** A span belongs to the day it starts on: on a public holiday of
  the version's country (the ``holidays`` package, ``"NL"`` or with a subdivision
  ``"US-NY"``, observed days included) or a custom closed date, the spans
  *starting* that day do not open. A span that started the evening before runs
  on past midnight into a holiday.
- **DST.** A wall-clock time that does not exist (the spring-forward gap) is read
  with the offset before the change, so a window opening at 02:30 opens at 03:30
  and a window inside the gap is empty; a time that exists twice (fall back) is
  its first occurrence, so a window across the change is an hour longer.
- **Pauses** are half-open intervals ``[start, end)`` (``end`` None: still paused)
  during which no business time passes.
- **Boundaries.** Intervals are half-open. A deadline is the *earliest* instant
  at which the duration has elapsed: 8 business hours from 09:00 on a 09-17 day
  fall due at 17:00 that day, not at 09:00 the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Interval = tuple[datetime, datetime]
Pause = tuple[datetime, "datetime | None"]

_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
# A schedule that never opens would make a deadline search run forever: give up
# after this many days without an open interval (ten years).
_MAX_EMPTY_DAYS = 3660


class ScheduleError(ValueError):
    """A schedule that cannot be used, with a message a person can act on."""


def parse_hhmm(text: str) -> time:
    match = _HHMM.match(text.strip())
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise ScheduleError(f"{text!r} is not a time: write it as HH:MM, from 00:00 to 24:00.")
    hour = int(match.group(1))
    return time(0 if hour == 24 else hour, int(match.group(2)))


def parse_spans(raw: Sequence[Sequence[str]]) -> tuple[tuple[time, time], ...]:
    spans = []
    for pair in raw:
        if len(pair) != 2:
            raise ScheduleError("Each span needs a start and an end, like 09:00-17:00.")
        start, end = pair
        if start.strip() == "24:00":
            raise ScheduleError("A span cannot start at 24:00; start it at 00:00.")
        spans.append((parse_hhmm(start), parse_hhmm(end)))
    return tuple(sorted(spans))


def check_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(
            f"{name!r} is not a time zone: use an IANA name such as Europe/Amsterdam."
        ) from None


@lru_cache(maxsize=1)
def _supported_countries() -> dict[str, list[str]]:
    # Imports every country module of the holidays package (about half a second): once.
    return holidays_lib.list_supported_countries()


def check_country(code: str) -> str:
    """``"NL"`` or ``"US-NY"``: a country the holidays package knows, optionally a subdivision."""
    code = code.strip().upper()
    country, _, subdivision = code.partition("-")
    supported = _supported_countries()
    if country not in supported:
        raise ScheduleError(
            f"{code!r} is not a supported country code: use two letters such as NL, US or ID."
        )
    if subdivision and subdivision not in supported[country]:
        raise ScheduleError(f"{subdivision!r} is not a subdivision of {country} the holidays list knows.")
    return code


@lru_cache(maxsize=512)
def holiday_dates(code: str, year: int) -> frozenset[date]:
    country, _, subdivision = code.partition("-")
    try:
        found = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year)
    except NotImplementedError:
        raise ScheduleError(f"{code!r} is not a supported country code.") from None
    return frozenset(found.keys())


@dataclass(frozen=True)
class Schedule:
    """One version of business hours."""

    timezone: str
    hours: Mapping[str, Sequence[Sequence[str]]]
    holiday_country: str | None = None
    closed_dates: frozenset[date] = frozenset()
    effective_from: datetime | None = None  # aware; None: since always
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    spans: tuple[tuple[tuple[time, time], ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "zone", check_zone(self.timezone))
        unknown = set(self.hours) - set(WEEKDAYS)
        if unknown:
            raise ScheduleError(f"Unknown weekday(s): {', '.join(sorted(unknown))}.")
        object.__setattr__(
            self, "spans", tuple(parse_spans(self.hours.get(day, ())) for day in WEEKDAYS)
        )
        if self.effective_from is not None and self.effective_from.tzinfo is None:
            raise ValueError("effective_from must be aware")
        # The country is checked where a person types it (check_country), not on every
        # load: an unknown code fails in holiday_dates, when it is first needed.

    @property
    def has_hours(self) -> bool:
        return any(self.spans)

    def is_closed(self, day: date) -> bool:
        if day in self.closed_dates:
            return True
        return bool(self.holiday_country) and day in holiday_dates(self.holiday_country, day.year)

    def day_windows(self, day: date) -> list[Interval]:
        """The UTC windows of the spans starting on local ``day``."""
        if self.is_closed(day):
            return []
        windows = []
        for start, end in self.spans[day.weekday()]:
            opens = datetime.combine(day, start, self.zone)
            end_day = day if end > start else day + timedelta(days=1)
            closes = datetime.combine(end_day, end, self.zone)
            opens, closes = opens.astimezone(UTC), closes.astimezone(UTC)
            if closes > opens:
                windows.append((opens, closes))
        return windows

    def windows_from(self, start: datetime) -> Iterator[Interval]:
        """Windows ending after ``start``, in order (not clipped, not merged), forever."""
        if not self.has_hours:
            return
        # From the day before: a span started yesterday may still be open.
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        empty = 0
        while empty < _MAX_EMPTY_DAYS:
            windows = self.day_windows(day)
            empty = 0 if windows else empty + 1
            for window in windows:
                if window[1] > start:
                    yield window
            day += timedelta(days=1)


class ScheduleHistory:
    """The versions of one account's hours, oldest first."""

    def __init__(self, versions: Iterable[Schedule]):
        ordered = sorted(
            versions,
            key=lambda v: v.effective_from or datetime.min.replace(tzinfo=UTC),
        )
        if not ordered:
            raise ValueError("a schedule history needs at least one version")
        self.versions: tuple[Schedule, ...] = tuple(ordered)

    def version_at(self, moment: datetime) -> Schedule:
        current = self.versions[0]
        for version in self.versions[1:]:
            if version.effective_from <= moment:
                current = version
        return current

    def open_intervals(self, start: datetime) -> Iterator[Interval]:
        """Open business time from ``start`` on: disjoint, clipped, in UTC, in order."""
        start = start.astimezone(UTC)
        # Windows arrive ordered by opening; one that overlaps what was already given
        # out (overlapping spans, a night span running into the next day's) is
        # trimmed rather than merged, so a schedule open around the clock still streams.
        given_until: datetime | None = None
        for opens, closes in self._raw(start):
            if given_until is not None and opens < given_until:
                opens = given_until
            if closes > opens:
                yield opens, closes
                given_until = closes

    def _raw(self, start: datetime) -> Iterator[Interval]:
        for i, version in enumerate(self.versions):
            until = self.versions[i + 1].effective_from if i + 1 < len(self.versions) else None
            if until is not None and until <= start:
                continue
            begin = start if i == 0 else max(start, version.effective_from)
            for opens, closes in version.windows_from(begin):
                if until is not None and opens >= until:
                    break
                opens = max(opens, begin)
                if until is not None:
                    closes = min(closes, until)
                if closes > opens:
                    yield opens, closes


def _without_pauses(intervals: Iterator[Interval], pauses: Sequence[Pause]) -> Iterator[Interval]:
    ordered = sorted((a.astimezone(UTC), b.astimezone(UTC) if b else None) for a, b in pauses)
    for opens, closes in intervals:
        pieces = [(opens, closes)]
        for p_start, p_end in ordered:
            next_pieces = []
            for a, b in pieces:
                if p_end is not None and p_end <= a or p_start >= b:
                    next_pieces.append((a, b))
                    continue
                if p_start > a:
                    next_pieces.append((a, p_start))
                if p_end is not None and p_end < b:
                    next_pieces.append((p_end, b))
            pieces = next_pieces
        yield from pieces
        if any(p_end is None and p_start <= closes for p_start, p_end in ordered):
            return  # paused for good from here: no business time will pass


def business_intervals(
    history: ScheduleHistory, start: datetime, pauses: Sequence[Pause] = ()
) -> Iterator[Interval]:
    return _without_pauses(history.open_intervals(start), pauses)


def add_business_time(
    history: ScheduleHistory,
    start: datetime,
    duration: timedelta,
    pauses: Sequence[Pause] = (),
) -> datetime | None:
    """The earliest instant at which ``duration`` of business time has passed since
    ``start``; None when it never will (no hours at all, or paused for good)."""
    start = start.astimezone(UTC)
    remaining = duration
    if remaining <= timedelta(0):
        return start
    for opens, closes in business_intervals(history, start, pauses):
        if closes - opens >= remaining:
            return opens + remaining
        remaining -= closes - opens
    return None


def business_time_between(
    history: ScheduleHistory, start: datetime, end: datetime, pauses: Sequence[Pause] = ()
) -> timedelta:
    """Business time that passes from ``start`` to ``end`` (zero when end <= start)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in business_intervals(history, start, pauses):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def latest_within(history: ScheduleHistory, start: datetime, budget: timedelta) -> datetime | None:
    """The last instant ``t`` with at most ``budget`` of business time between
    ``start`` and ``t``: a due time at or before it has that little time left.

    When the budget runs out exactly at a closing time, the closed stretch after it
    costs nothing, so the answer is the next opening."""
    start = start.astimezone(UTC)
    remaining = budget
    intervals = business_intervals(history, start)
    for opens, closes in intervals:
        if closes - opens > remaining:
            return opens + remaining
        remaining -= closes - opens
        if remaining == timedelta(0):
            following = next(intervals, None)
            return following[0] if following else None
    return None


def next_change(history: ScheduleHistory, moment: datetime) -> tuple[bool, datetime | None]:
    """(open now, until when) when open; (False, next opening) when closed; None: never."""
    moment = moment.astimezone(UTC)
    for opens, closes in history.open_intervals(moment):
        if opens <= moment < closes:
            return True, closes
        return False, opens
    return False, None


def windows_between(history: ScheduleHistory, start: datetime, end: datetime) -> list[Interval]:
    """Open intervals overlapping [start, end), clipped to it."""
    result = []
    for opens, closes in history.open_intervals(start):
        if opens >= end:
            break
        result.append((opens, min(closes, end)))
    return result
