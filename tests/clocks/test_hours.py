"""Business-time arithmetic, table-driven. Every expected value below was worked
out by hand from a calendar (2026: 1 March is a Sunday; US clocks spring forward on
8 March and fall back on 1 November, EU clocks on 29 March and 25 October).

Times are local to the first schedule version's zone unless they end in Z (UTC).
Hours are written "mon-fri 09:00-17:00; sat 09:00-12:00", spans split by commas.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.clocks.hours import (
    Schedule,
    ScheduleError,
    ScheduleHistory,
    add_business_time,
    business_time_between,
    check_country,
    latest_within,
    next_change,
)

NY, AMS, JKT, UTC_ = "America/New_York", "Europe/Amsterdam", "Asia/Jakarta", "UTC"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def H(spec: str) -> dict:
    hours: dict[str, list] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        days, spans = part.split(" ", 1)
        if days == "all":
            names = DAYS
        elif "-" in days:
            first, last = days.split("-")
            names = DAYS[DAYS.index(first) : DAYS.index(last) + 1]
        else:
            names = (days,)
        for name in names:
            hours.setdefault(name, []).extend(s.strip().split("-") for s in spans.split(","))
    return hours


STD = "mon-fri 09:00-17:00"


def at(text: str, zone: str) -> datetime:
    if text.endswith("Z"):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def V(zone=NY, hours=STD, eff=None, country=None, closed=()):
    return dict(zone=zone, hours=hours, eff=eff, country=country, closed=closed)


def history_of(versions) -> ScheduleHistory:
    if isinstance(versions, dict):
        versions = [versions]
    return ScheduleHistory(
        Schedule(
            v["zone"],
            H(v["hours"]),
            holiday_country=v["country"],
            closed_dates=frozenset(date.fromisoformat(d) for d in v["closed"]),
            effective_from=at(v["eff"], v["zone"]) if v["eff"] else None,
        )
        for v in versions
    )


def zone_of(versions) -> str:
    return (versions if isinstance(versions, dict) else versions[0])["zone"]


def duration(text: str) -> timedelta:
    total = timedelta(0)
    for part in text.split():
        if part.endswith("h"):
            total += timedelta(hours=float(part[:-1]))
        else:
            total += timedelta(minutes=float(part[:-1]))
    return total


# (id, schedule version(s), start, business time to add, expected due, pauses)
ADD = [
    # --- America/New_York, Mon-Fri 09-17 -------------------------------------------
    ("ny-full-day-ends-at-close", V(), "2026-03-02 09:00", "8h", "2026-03-02 17:00", ()),
    ("ny-overnight", V(), "2026-03-02 10:00", "8h", "2026-03-03 10:00", ()),
    ("ny-over-weekend-and-dst", V(), "2026-03-06 16:00", "8h", "2026-03-09 16:00", ()),
    ("ny-over-weekend-in-utc", V(), "2026-03-06 16:00", "8h", "2026-03-09 20:00Z", ()),
    ("ny-start-on-saturday", V(), "2026-03-07 12:00", "8h", "2026-03-09 17:00", ()),
    ("ny-start-at-friday-close", V(), "2026-03-06 17:00", "1h", "2026-03-09 10:00", ()),
    ("ny-start-before-opening", V(), "2026-03-06 08:00", "2h", "2026-03-06 11:00", ()),
    ("ny-start-on-sunday-night", V(), "2026-03-08 23:30", "30m", "2026-03-09 09:30", ()),
    ("ny-two-days", V(), "2026-03-02 13:00", "16h", "2026-03-04 13:00", ()),
    ("ny-24x7-spring-forward", V(hours="all 00:00-00:00"), "2026-03-07 12:00", "24h", "2026-03-08 13:00", ()),
    ("ny-24x7-fall-back", V(hours="all 00:00-00:00"), "2026-10-31 12:00", "24h", "2026-11-01 11:00", ()),
    ("ny-night-over-spring-forward", V(hours="sat 22:00-06:00"), "2026-03-07 22:00", "7h", "2026-03-08 06:00", ()),
    ("ny-night-spring-forward-next-week", V(hours="sat 22:00-06:00"), "2026-03-07 22:00", "8h", "2026-03-14 23:00", ()),
    ("ny-night-over-fall-back", V(hours="sat 22:00-06:00"), "2026-10-31 22:00", "8h", "2026-11-01 05:00", ()),
    ("ny-window-inside-the-gap-is-empty", V(hours="sun 02:00-03:00; mon 09:00-10:00"), "2026-03-07 12:00", "1h", "2026-03-09 10:00", ()),
    ("ny-window-opening-in-the-gap", V(hours="sun 02:30-04:00"), "2026-03-07 12:00", "30m", "2026-03-08 04:00", ()),
    ("ny-window-opening-in-the-gap-spills", V(hours="sun 02:30-04:00"), "2026-03-07 12:00", "45m", "2026-03-15 02:45", ()),
    ("ny-ambiguous-hour-counts-twice", V(hours="sun 01:00-02:00"), "2026-10-31 12:00", "90m", "2026-11-01 06:30Z", ()),
    ("ny-thanksgiving", V(country="US"), "2026-11-25 15:00", "8h", "2026-11-27 15:00", ()),
    ("ny-july-3-observed", V(country="US"), "2026-07-02 13:00", "8h", "2026-07-06 13:00", ()),
    ("ny-july-3-without-holidays", V(), "2026-07-02 13:00", "8h", "2026-07-03 13:00", ()),
    ("ny-memorial-day-monday", V(country="US"), "2026-05-22 09:00", "16h", "2026-05-26 17:00", ()),
    ("ny-custom-closed-date", V(closed=["2026-12-24", "2026-12-31"]), "2026-12-23 13:00", "8h", "2026-12-25 13:00", ()),
    ("ny-custom-closed-and-christmas", V(country="US", closed=["2026-12-24"]), "2026-12-23 13:00", "8h", "2026-12-28 13:00", ()),
    ("ny-subdivision-holiday", V(country="US-NY"), "2026-02-11 13:00", "8h", "2026-02-13 13:00", ()),
    # --- Europe/Amsterdam ---------------------------------------------------------
    ("ams-24x7-spring-forward", V(AMS, "all 00:00-00:00"), "2026-03-28 12:00", "24h", "2026-03-29 13:00", ()),
    ("ams-24x7-fall-back", V(AMS, "all 00:00-00:00"), "2026-10-24 12:00", "24h", "2026-10-25 11:00", ()),
    ("ams-weekend-over-dst", V(AMS), "2026-03-27 15:00", "8h", "2026-03-30 15:00", ()),
    ("ams-weekend-over-dst-in-utc", V(AMS), "2026-03-27 15:00", "8h", "2026-03-30 13:00Z", ()),
    ("ams-weekend-over-fall-back-in-utc", V(AMS), "2026-10-23 15:00", "8h", "2026-10-26 14:00Z", ()),
    ("ams-night-over-spring-forward", V(AMS, "sat 20:00-04:00"), "2026-03-28 20:00", "7h", "2026-03-29 04:00", ()),
    ("ams-early-sunday-spring-forward", V(AMS, "sun 00:00-06:00"), "2026-03-29 00:00", "5h", "2026-03-29 06:00", ()),
    ("ams-early-sunday-fall-back", V(AMS, "sun 00:00-06:00"), "2026-10-25 00:00", "6h", "2026-10-25 05:00", ()),
    ("ams-easter", V(AMS, country="NL"), "2026-04-02 13:00", "8h", "2026-04-07 13:00", ()),
    ("ams-kings-day", V(AMS, country="NL"), "2026-04-24 16:00", "2h", "2026-04-28 10:00", ()),
    ("ams-christmas", V(AMS, country="NL"), "2026-12-24 16:00", "4h", "2026-12-28 12:00", ()),
    ("ams-new-year-across-years", V(AMS, country="NL"), "2026-12-31 15:00", "8h", "2027-01-04 15:00", ()),
    ("ams-split-morning-into-afternoon", V(AMS, "mon-fri 08:00-12:00,13:00-17:00"), "2026-03-02 11:00", "2h", "2026-03-02 14:00", ()),
    ("ams-split-start-at-lunch", V(AMS, "mon-fri 08:00-12:00,13:00-17:00"), "2026-03-02 12:30", "1h", "2026-03-02 14:00", ()),
    ("ams-split-ends-at-lunch", V(AMS, "mon-fri 08:00-12:00,13:00-17:00"), "2026-03-02 11:00", "1h", "2026-03-02 12:00", ()),
    ("ams-split-next-day", V(AMS, "mon-fri 08:00-12:00,13:00-17:00"), "2026-03-02 16:00", "8h", "2026-03-03 16:00", ()),
    ("ams-three-spans", V(AMS, "mon 07:00-09:00,10:00-12:00,20:00-22:00"), "2026-03-02 08:00", "4h", "2026-03-02 21:00", ()),
    # --- Asia/Jakarta: no daylight saving ------------------------------------------
    ("jkt-overnight", V(JKT), "2026-03-02 16:00", "8h", "2026-03-03 16:00", ()),
    ("jkt-no-shift-while-europe-shifts", V(JKT), "2026-03-27 16:00", "8h", "2026-03-30 09:00Z", ()),
    ("jkt-day-of-silence", V(JKT, country="ID"), "2026-03-18 13:00", "8h", "2026-03-20 13:00", ()),
    ("jkt-independence-day", V(JKT, country="ID"), "2026-08-14 09:00", "12h", "2026-08-18 13:00", ()),
    ("jkt-saturday-morning", V(JKT, "mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00"), "2026-03-06 16:00", "5h", "2026-03-09 09:00", ()),
    ("jkt-start-on-sunday", V(JKT), "2026-03-08 10:00", "1h", "2026-03-09 10:00", ()),
    # --- Past midnight --------------------------------------------------------------
    ("night-within-span", V(UTC_, "mon-fri 22:00-06:00"), "2026-03-02 23:00", "2h", "2026-03-03 01:00", ()),
    ("night-start-inside-yesterdays-span", V(UTC_, "mon-fri 22:00-06:00"), "2026-03-03 03:00", "4h", "2026-03-03 23:00", ()),
    ("night-friday-into-saturday", V(UTC_, "mon-fri 22:00-06:00"), "2026-03-06 23:00", "7h", "2026-03-07 06:00", ()),
    ("night-saturday-morning-start", V(UTC_, "mon-fri 22:00-06:00"), "2026-03-07 00:00", "8h", "2026-03-10 00:00", ()),
    ("night-span-runs-into-closed-day", V(UTC_, "all 22:00-06:00", closed=["2026-03-04"]), "2026-03-03 22:00", "10h", "2026-03-06 00:00", ()),
    ("end-at-24-00", V(UTC_, "mon 09:00-24:00"), "2026-03-02 20:00", "4h", "2026-03-03 00:00", ()),
    ("whole-saturday", V(UTC_, "sat 00:00-00:00"), "2026-03-07 00:00", "30h", "2026-03-14 06:00", ()),
    ("overlapping-spans-merge", V(UTC_, "mon 09:00-13:00,12:00-17:00"), "2026-03-02 09:00", "8h", "2026-03-02 17:00", ()),
    ("night-span-overlaps-next-day", V(UTC_, "mon 20:00-02:00; tue 01:00-03:00"), "2026-03-02 20:00", "7h", "2026-03-03 03:00", ()),
    # --- Pauses (waiting on the customer) -----------------------------------------
    ("pause-inside-day", V(), "2026-03-02 09:00", "8h", "2026-03-03 11:00", [("2026-03-02 10:00", "2026-03-02 12:00")]),
    ("pause-outside-hours-costs-nothing", V(), "2026-03-02 09:00", "8h", "2026-03-02 17:00", [("2026-03-02 18:00", "2026-03-03 08:00")]),
    ("pause-across-days", V(), "2026-03-02 09:00", "8h", "2026-03-04 17:00", [("2026-03-02 10:00", "2026-03-04 10:00")]),
    ("two-pauses", V(), "2026-03-02 09:00", "8h", "2026-03-03 13:00", [("2026-03-02 10:00", "2026-03-02 11:00"), ("2026-03-02 15:00", "2026-03-03 10:00")]),
    ("paused-for-good-before-due", V(), "2026-03-02 09:00", "8h", None, [("2026-03-02 12:00", None)]),
    ("paused-for-good-after-due", V(), "2026-03-02 09:00", "2h", "2026-03-02 11:00", [("2026-03-02 15:00", None)]),
    ("pause-began-before-start", V(), "2026-03-02 09:00", "8h", "2026-03-03 12:00", [("2026-03-01 10:00", "2026-03-02 12:00")]),
    ("pause-over-weekend", V(), "2026-03-06 16:00", "2h", "2026-03-09 11:00", [("2026-03-06 16:30", "2026-03-09 09:30")]),
    ("pause-in-ams-split-day", V(AMS, "mon-fri 08:00-12:00,13:00-17:00"), "2026-03-02 08:00", "8h", "2026-03-03 09:00", [("2026-03-02 11:30", "2026-03-02 13:30")]),
    ("pause-in-jakarta", V(JKT), "2026-03-02 09:00", "4h", "2026-03-02 15:00", [("2026-03-02 10:00", "2026-03-02 12:00")]),
    # --- Schedule changed while a case is open ------------------------------------
    ("hours-extended-from-wednesday", [V(), V(hours="mon-fri 08:00-20:00", eff="2026-03-04 00:00")], "2026-03-03 13:00", "8h", "2026-03-04 12:00", ()),
    ("hours-contracted-mid-afternoon", [V(), V(hours="mon-fri 09:00-12:00", eff="2026-03-03 15:00")], "2026-03-03 13:00", "8h", "2026-03-05 12:00", ()),
    ("zone-changed-to-new-york", [V(AMS), V(NY, eff="2026-03-04 05:00Z")], "2026-03-03 13:00", "8h", "2026-03-04 18:00Z", ()),
    ("holidays-switched-on", [V(AMS), V(AMS, country="NL", eff="2026-04-01 00:00")], "2026-04-02 13:00", "8h", "2026-04-07 13:00", ()),
    ("change-cuts-an-open-window", [V(), V(hours="tue-fri 09:00-17:00", eff="2026-03-02 12:00")], "2026-03-02 09:00", "8h", "2026-03-03 14:00", ()),
    ("old-version-not-in-force", [V(hours="mon-fri 10:00-18:00"), V(eff="2026-01-01 00:00")], "2026-03-02 09:00", "8h", "2026-03-02 17:00", ()),
    ("first-version-covers-before-it", V(eff="2026-06-01 00:00"), "2026-03-02 09:00", "8h", "2026-03-02 17:00", ()),
    ("changed-to-no-hours-never-due", [V(), V(hours="", eff="2026-03-03 00:00")], "2026-03-02 16:00", "2h", None, ()),
    ("zero-duration-is-the-start", V(), "2026-03-07 12:00", "0m", "2026-03-07 12:00", ()),
]


@pytest.mark.parametrize(
    "versions, start, add, expected, pauses", [row[1:] for row in ADD], ids=[row[0] for row in ADD]
)
def test_add_business_time(versions, start, add, expected, pauses):
    zone = zone_of(versions)
    history = history_of(versions)
    pause_list = [(at(a, zone), at(b, zone) if b else None) for a, b in pauses]
    due = add_business_time(history, at(start, zone), duration(add), pause_list)
    if expected is None:
        assert due is None
    else:
        assert due == at(expected, zone), due.astimezone(ZoneInfo(zone))
        assert due.tzinfo == UTC


# (id, version, start, budget, the latest due time with at most that much left)
LATEST = [
    ("ends-at-close-so-next-opening", V(), "2026-03-02 09:00", "8h", "2026-03-03 09:00"),
    ("inside-a-window", V(), "2026-03-02 10:00", "96m", "2026-03-02 11:36"),
    ("friday-close-to-monday", V(), "2026-03-06 16:00", "1h", "2026-03-09 09:00"),
    ("tokyo-at-night", V("Asia/Tokyo"), "2026-03-04 21:00", "96m", "2026-03-05 10:36"),
]


@pytest.mark.parametrize("version, start, budget, expected", [r[1:] for r in LATEST], ids=[r[0] for r in LATEST])
def test_latest_within(version, start, budget, expected):
    zone = version["zone"]
    assert latest_within(history_of(version), at(start, zone), duration(budget)) == at(expected, zone)


# (id, version, start, end, business time between, pauses)
BETWEEN = [
    ("friday-to-monday", V(), "2026-03-06 16:00", "2026-03-09 10:00", "2h", ()),
    ("ams-24x7-over-spring-forward", V(AMS, "all 00:00-00:00"), "2026-03-28 00:00", "2026-03-30 00:00", "47h", ()),
    ("with-a-pause", V(), "2026-03-02 09:00", "2026-03-02 17:00", "6h", [("2026-03-02 10:00", "2026-03-02 12:00")]),
    ("end-before-start", V(), "2026-03-02 12:00", "2026-03-02 10:00", "0m", ()),
]


@pytest.mark.parametrize("version, start, end, expected, pauses", [r[1:] for r in BETWEEN], ids=[r[0] for r in BETWEEN])
def test_business_time_between(version, start, end, expected, pauses):
    zone = version["zone"]
    pause_list = [(at(a, zone), at(b, zone)) for a, b in pauses]
    got = business_time_between(history_of(version), at(start, zone), at(end, zone), pause_list)
    assert got == duration(expected)


def test_table_is_large_enough():
    assert len(ADD) + len(LATEST) + len(BETWEEN) >= 60


def test_reachability_open_closed_and_never():
    history = history_of(V(AMS, country="NL"))
    assert next_change(history, at("2026-03-02 10:00", AMS)) == (True, at("2026-03-02 17:00", AMS))
    assert next_change(history, at("2026-04-24 18:00", AMS)) == (False, at("2026-04-28 09:00", AMS))
    assert next_change(history_of(V(hours="")), at("2026-03-02 10:00", NY)) == (False, None)


@pytest.mark.parametrize(
    "hours, zone, country, message",
    [
        ({"mon": [["9", "17:00"]]}, NY, None, "is not a time"),
        ({"mon": [["09:00", "24:30"]]}, NY, None, "is not a time"),
        ({"mon": [["24:00", "02:00"]]}, NY, None, "cannot start at 24:00"),
        ({"funday": [["09:00", "17:00"]]}, NY, None, "Unknown weekday"),
        ({}, "Mars/Olympus", None, "is not a time zone"),
        ({}, NY, "XX", "not a supported country"),
        ({}, NY, "US-ZZ", "not a subdivision"),
    ],
)
def test_bad_schedules_are_refused_with_a_reason(hours, zone, country, message):
    with pytest.raises(ScheduleError, match=message):
        Schedule(zone, hours)
        check_country(country)


def test_an_unknown_country_in_stored_data_fails_when_needed():
    schedule = Schedule(NY, H(STD), holiday_country="XX")
    with pytest.raises(ScheduleError, match="not a supported country"):
        schedule.is_closed(date(2026, 3, 2))
