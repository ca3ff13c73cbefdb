"""The ramp as an SVG bar chart, computed here and drawn by the template: no
JavaScript and no chart library, so it renders under the strict CSP, prints, and
reads the same in every browser.

One bar a day on a linear scale, stacked by mailbox provider, with the current
provider's share on top for a migration. A linear scale shows honestly how little
goes out in the first two weeks; the table beside it has every number."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portal.planner.schedule import PROVIDERS, Plan

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 52
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

COLOURS = {
    "gmail": "#1f5fbf",
    "microsoft": "#d97a00",
    "yahoo": "#6b3fb5",
    "others": "#00766e",
    "old": "#b9c1cc",
}
OLD_LABEL = "Current provider"


@dataclass(frozen=True)
class Segment:
    key: str
    y: float
    height: float
    colour: str


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    segments: list[Segment]
    title: str


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    legend: list[tuple[str, str]]  # (label, colour)
    title: str
    desc: str


def compact(n: int | float) -> str:
    """1500000 -> '1.5M', 250000 -> '250k', 600 -> '600'."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if n >= size:
            text = f"{Decimal(n) / size:.2f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{int(n)}"


def nice_axis(maximum: int, ticks: int = 5) -> tuple[int, int]:
    """(top of the axis, step) with a step of 1, 2, 2.5 or 5 times a power of ten."""
    if maximum <= 0:
        return 1, 1
    magnitude = 1
    while magnitude * 10 <= maximum:
        magnitude *= 10
    for unit in (Decimal("0.1"), Decimal("0.2"), Decimal("0.25"), Decimal("0.5"), 1, 2, Decimal("2.5"), 5, 10):
        step = int(unit * magnitude) or 1
        if maximum / step <= ticks:
            top = -(-maximum // step) * step
            return top, step
    return maximum, maximum


def ramp_chart(plan: Plan) -> Chart:
    days = plan.days
    migration = plan.inputs.is_migration
    top, step = nice_axis(max(d.all_traffic for d in days))
    scale = PLOT_H / top
    slot = PLOT_W / len(days)
    width = round(min(slot * 0.72, 40), 2)
    bars = []
    for index, day in enumerate(days):
        x = round(LEFT + index * slot + (slot - width) / 2, 2)
        base = TOP + PLOT_H
        segments = []
        parts = [(key, day.providers[key]) for key, _ in PROVIDERS]
        if migration:
            parts.append(("old", day.old_provider or 0))
        for key, value in parts:
            height = value * scale
            if height <= 0:
                continue
            base -= height
            segments.append(Segment(key, round(base, 2), round(height, 2), COLOURS[key]))
        title = f"Day {day.number}, {day.date:%a %d %b}: {day.total:,} through this service"
        if migration:
            title += f", {day.old_provider:,} through the current provider"
        bars.append(Bar(x, width, segments, title))
    y_ticks = [
        Tick(round(TOP + PLOT_H - value * scale, 2), compact(value))
        for value in range(0, top + 1, step)
    ]
    every = 1 if len(days) <= 10 else 7
    labelled = {d.number for d in days if d.number == 1 or d.number % every == 0}
    labelled.add(days[-1].number)
    x_ticks = [
        Tick(round(LEFT + (d.number - 1) * slot + slot / 2, 2), str(d.number))
        for d in days
        if d.number in labelled
    ]
    legend = [(label, COLOURS[key]) for key, label in PROVIDERS]
    if migration:
        legend.append((OLD_LABEL, COLOURS["old"]))
    return Chart(
        WIDTH, HEIGHT, LEFT, TOP, PLOT_W, PLOT_H, bars, y_ticks, x_ticks, legend,
        title=f"Daily volume, day 1 to day {days[-1].number}",
        desc=describe(plan),
    )  # fmt: skip


def describe(plan: Plan) -> str:
    first, last = plan.days[0], plan.last_day
    ips = "1 IP" if plan.inputs.ips == 1 else f"{plan.inputs.ips} IPs"
    text = (
        f"Through this service, on {ips}: {first.total:,} on day 1 ({first.date:%d %b %Y}), "
        f"rising to {last.total:,} on day {last.number} ({last.date:%d %b %Y})."
    )
    if plan.inputs.is_migration:
        if plan.cutover_day:
            text += (
                f" The current provider carries the rest of {plan.inputs.current_volume:,} a day "
                f"until day {plan.cutover_day.number}, when this service carries it all."
            )
        else:
            text += (
                f" The current provider carries the rest of {plan.inputs.current_volume:,} a day, "
                f"and still {plan.old_provider_after:,} a day after the plan ends."
            )
    return text + " Every number is in the day-by-day table."
