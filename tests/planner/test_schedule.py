"""The warm-up arithmetic against DOMAIN.md section 2, and its rounding rules."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from portal.planner.chart import compact, nice_axis, ramp_chart
from portal.planner.schedule import (
    PHASES,
    SPARKPOST_SCHEDULE,
    PlanError,
    PlanInputs,
    build_plan,
    deal,
    default_name,
    largest_remainder,
    minimum_ips,
    split_evenly,
    suggest_ip_count,
)

# DOMAIN.md section 2, copied by hand from the table so a typo in the code shows.
DOMAIN_TABLE = {
    1: 200, 2: 500, 3: 1_000, 4: 2_000, 5: 5_000, 6: 10_000, 7: 20_000,
    8: 40_000, 9: 50_000, 10: 75_000, 11: 100_000, 12: 150_000, 13: 200_000, 14: 250_000,
    15: 325_000, 16: 400_000, 17: 500_000, 18: 600_000, 19: 750_000, 20: 1_000_000, 21: 1_250_000,
    22: 1_750_000, 23: 2_000_000, 24: 3_000_000, 25: 4_250_000, 26: 5_000_000, 27: 6_000_000, 28: 7_500_000,
    29: 10_000_000,
}  # fmt: skip

EVEN = {"gmail": Decimal(25), "microsoft": Decimal(25), "yahoo": Decimal(25), "others": Decimal(25)}
START = date(2027, 3, 1)


def inputs(volume=10_000_000, ips=1, shares=None, current=None, start=START) -> PlanInputs:
    return PlanInputs(volume, ips, start, shares or EVEN, current)


def test_the_schedule_is_domain_md_table():
    assert dict(enumerate(SPARKPOST_SCHEDULE, start=1)) == DOMAIN_TABLE


def test_one_ip_at_ten_million_follows_every_day_of_the_table():
    plan = build_plan(inputs(10_000_000, 1))
    assert [d.number for d in plan.days] == list(range(1, 30))
    for day in plan.days:
        assert day.total == DOMAIN_TABLE[day.number], day.number
        assert day.per_ip == [DOMAIN_TABLE[day.number]]
        assert day.date == START + timedelta(days=day.number - 1)
    assert plan.warm_from == START + timedelta(days=29)  # day 30: warm


def test_several_ips_each_follow_the_table_until_the_target():
    plan = build_plan(inputs(3_000_000, 3))  # 1,000,000 per IP: day 20
    assert plan.last_day.number == 20
    for day in plan.days:
        assert day.per_ip == [DOMAIN_TABLE[day.number]] * 3
        assert day.total == 3 * DOMAIN_TABLE[day.number]


def test_the_plan_ends_on_the_first_day_that_reaches_the_per_ip_target():
    # 2,600,000 on 2 IPs: 1,300,000 each, past day 21 (1,250,000): day 22 caps at the target.
    plan = build_plan(inputs(2_600_000, 2))
    assert plan.last_day.number == 22
    assert plan.days[-2].per_ip == [1_250_000, 1_250_000]
    assert plan.last_day.per_ip == [1_300_000, 1_300_000]
    assert plan.last_day.schedule_per_ip == 1_750_000
    # Exactly a table value ends on that day, not the next.
    assert build_plan(inputs(200_000, 1)).last_day.number == 13
    assert build_plan(inputs(150, 1)).last_day.number == 1


def test_uneven_targets_split_with_the_first_ips_carrying_one_more():
    plan = build_plan(inputs(1_000_001, 3))
    assert plan.per_ip_target == [333_334, 333_334, 333_333]
    assert plan.last_day.per_ip == [333_334, 333_334, 333_333]
    assert sum(plan.last_day.per_ip) == 1_000_001
    assert split_evenly(10, 4) == [3, 3, 2, 2]
    assert split_evenly(8, 4) == [2, 2, 2, 2]


def test_above_ten_million_per_ip_is_refused():
    assert minimum_ips(10_000_000) == 1
    assert minimum_ips(10_000_001) == 2
    with pytest.raises(PlanError) as error:
        build_plan(inputs(25_000_000, 2))
    assert error.value.field == "ips" and "use at least 3" in error.value.message


@pytest.mark.parametrize(
    "volume, ips",
    [
        (1, 2), (100_000, 2), (800_000, 2), (800_001, 3), (1_600_000, 3), (2_500_000, 3),
        (2_500_001, 4), (3_500_000, 4), (4_000_000, 5), (5_000_000, 5), (6_000_000, 7),
        (7_500_000, 7), (9_000_000, 10), (10_000_000, 10), (15_000_000, 13), (20_000_000, 13),
        (50_000_000, 17), (80_000_000, 20), (80_000_001, 21), (100_000_000, 25),
    ],
)  # fmt: skip
def test_ip_count_suggestion_follows_sendgrids_table(volume, ips):
    suggestion = suggest_ip_count(volume)
    assert suggestion.ips == ips
    assert "SendGrid" in suggestion.basis
    assert suggestion.ips >= minimum_ips(volume)  # never above SparkPost's 10M per IP


def test_largest_remainder_adds_up_and_breaks_ties_in_provider_order():
    thirds = {"gmail": 1, "microsoft": 1, "yahoo": 1, "others": 0}
    assert largest_remainder(100, thirds) == {"gmail": 34, "microsoft": 33, "yahoo": 33, "others": 0}
    assert largest_remainder(2, thirds) == {"gmail": 1, "microsoft": 1, "yahoo": 0, "others": 0}
    shares = {"gmail": Decimal("33.3"), "microsoft": Decimal("33.3"), "yahoo": Decimal("33.4"), "others": Decimal(0)}
    assert largest_remainder(10, shares) == {"gmail": 3, "microsoft": 3, "yahoo": 4, "others": 0}
    # A larger fraction wins over order: 4.7 rounds up before 1.2.
    weights = {"a": Fraction(12, 100), "b": Fraction(47, 100), "c": Fraction(41, 100)}
    assert largest_remainder(10, weights) == {"a": 1, "b": 5, "c": 4}


def test_every_split_adds_up_exactly_for_random_inputs():
    rng = random.Random(5)
    for _ in range(200):
        cuts = sorted(rng.randint(0, 10_000) for _ in range(3))
        parts = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], 10_000 - cuts[2]]
        shares = {k: Decimal(p) / 100 for k, p in zip(("gmail", "microsoft", "yahoo", "others"), parts, strict=True)}
        volume = rng.randint(1, 40_000_000)
        ips = rng.randint(minimum_ips(volume), min(volume, 30))
        plan = build_plan(inputs(volume, ips, shares))
        assert plan.last_day.total == volume
        for day in plan.days:
            assert sum(day.providers.values()) == day.total
            assert sum(day.per_ip) == day.total
            assert max(day.per_ip) - min(day.per_ip) <= 1
            for ip, split in enumerate(day.per_ip_providers):
                assert sum(split.values()) == day.per_ip[ip]
            for key in day.providers:
                column = [split[key] for split in day.per_ip_providers]
                assert sum(column) == day.providers[key]
                assert max(column) - min(column) <= 1
                # Within one message of the exact share.
                assert abs(day.providers[key] - Fraction(day.total) * Fraction(shares[key]) / 100) < 1
            for key, share in shares.items():
                if share == 0:
                    assert day.providers[key] == 0


def test_dealing_gives_each_ip_its_even_share():
    rows = deal({"gmail": 5, "microsoft": 3, "yahoo": 0, "others": 2}, 3)
    assert rows == [
        {"gmail": 2, "microsoft": 1, "yahoo": 0, "others": 1},
        {"gmail": 2, "microsoft": 1, "yahoo": 0, "others": 0},
        {"gmail": 1, "microsoft": 1, "yahoo": 0, "others": 1},
    ]
    assert [sum(r.values()) for r in rows] == split_evenly(10, 3)


def test_provider_split_of_a_day():
    shares = {"gmail": Decimal(40), "microsoft": Decimal("33.3"), "yahoo": Decimal("16.7"), "others": Decimal(10)}
    plan = build_plan(inputs(3_000, 3, shares))
    day1 = plan.days[0]  # 600 messages
    assert day1.providers == {"gmail": 240, "microsoft": 200, "yahoo": 100, "others": 60}
    day3 = plan.days[2]  # 3,000: 1200, 999, 501, 300
    assert day3.providers == {"gmail": 1200, "microsoft": 999, "yahoo": 501, "others": 300}


def test_migration_split_between_old_provider_and_this_service():
    plan = build_plan(inputs(4_000_000, 4, current=4_000_000))  # 1M per IP: day 20
    for day in plan.days:
        assert day.old_provider == 4_000_000 - day.total
        assert day.all_traffic == 4_000_000
    assert plan.days[0].old_provider == 4_000_000 - 800
    assert plan.cutover_day.number == 20 and plan.last_day.old_provider == 0
    assert plan.old_provider_after == 0
    assert plan.days[0].service_percent == Decimal("0.0")
    assert plan.days[19].service_percent == Decimal("100.0")


def test_migration_with_growth_hands_over_before_the_target():
    plan = build_plan(inputs(6_000_000, 6, current=3_000_000))  # 1M per IP: day 20
    assert plan.cutover_day.number == 17  # 6 x 500,000 = 3,000,000
    assert all(d.old_provider == 0 for d in plan.days[16:])


def test_partial_migration_leaves_the_rest_with_the_old_provider():
    plan = build_plan(inputs(1_000_000, 2, current=5_000_000))
    assert plan.cutover_day is None
    assert plan.last_day.old_provider == 4_000_000
    assert plan.old_provider_after == 4_000_000


def test_without_migration_there_is_no_old_provider():
    plan = build_plan(inputs(1_000_000, 2))
    assert all(d.old_provider is None for d in plan.days)
    assert plan.cutover_day is None and plan.old_provider_after == 0


def test_engagement_windows_by_week_of_the_warm_up():
    plan = build_plan(inputs(10_000_000, 1))
    assert {d.phase.short for d in plan.days[:14]} == {"Engaged in last 30 days"}
    assert {d.phase.short for d in plan.days[14:28]} == {"Engaged in last 60 days"}
    assert plan.days[28].phase.short == "No one inactive over 90 days"
    spans = {s.phase.weeks: (s.starts, s.ends) for s in plan.phases}
    assert spans["Weeks 1-2"] == (START, START + timedelta(days=13))
    assert spans["Weeks 3-4"] == (START + timedelta(days=14), START + timedelta(days=27))
    assert spans["Weeks 5-6"] == (START + timedelta(days=28), START + timedelta(days=41))
    assert spans["From week 7"] == (START + timedelta(days=42), None)
    assert [p.first_day for p in PHASES] == [1, 15, 29, 43]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"volume": 0}, "volume"),
        ({"volume": -5}, "volume"),
        ({"ips": 0}, "ips"),
        ({"volume": 3, "ips": 4}, "ips"),
        ({"shares": {**EVEN, "others": Decimal(20)}}, "shares"),
        ({"shares": {**EVEN, "others": Decimal(-25), "gmail": Decimal(75)}}, "shares"),
        ({"current": 0}, "current_volume"),
    ],
)
def test_bad_inputs_are_refused_with_the_field_at_fault(kwargs, field):
    with pytest.raises(PlanError) as error:
        build_plan(inputs(**kwargs))
    assert error.value.field == field


def test_inputs_survive_json():
    original = inputs(2_500_000, 3, {"gmail": Decimal("33.33"), "microsoft": Decimal("33.33"), "yahoo": Decimal("33.34"), "others": Decimal(0)}, 1_000_000)
    assert PlanInputs.from_json(original.to_json()) == original
    assert default_name(original) == "Migration: 2,500,000 a day on 3 IPs from 01 Mar 2027"


def test_chart_axis_and_labels():
    assert nice_axis(5_000_000) == (5_000_000, 1_000_000)
    assert nice_axis(600) == (600, 200)
    assert nice_axis(4_200_000) == (5_000_000, 1_000_000)
    assert compact(1_500_000) == "1.5M" and compact(250_000) == "250k" and compact(600) == "600"
    chart = ramp_chart(build_plan(inputs(4_000_000, 4, current=4_000_000)))
    assert len(chart.bars) == 20
    last = chart.bars[-1]
    assert round(sum(s.height for s in last.segments)) == chart.plot_h  # axis top: 4M
    first = chart.bars[0]
    assert "old" in {s.key for s in first.segments}
    assert [t.label for t in chart.x_ticks] == ["1", "7", "14", "20"]
    assert "day 20" in chart.desc
