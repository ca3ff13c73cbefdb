"""The warm-up arithmetic, as pure functions of a plan's inputs (DOMAIN.md section 2).

Decisions, each tested in tests/planner/test_schedule.py:

- **Schedule.** SparkPost's published per-IP daily volumes, days 1-29. A plan ends
  on the first day whose scheduled volume reaches the per-IP target; from the next
  day the IPs are warm and carry the full target.
- **Per-IP ceiling.** The schedule stops at 10,000,000 a day per IP ("above about
  10M a day, add another IP"), so a target that would put more on one IP is refused.
- **IP-count suggestion.** SendGrid's table of IP count by daily volume, read as
  upper bounds: a volume between two rows takes the larger row (800k-1.6M is not in
  the table and gets 3, like 1.6-2.5M). Above the last row (80M: 20 IPs) the table's
  last ratio, 4M per IP, continues. SparkPost's 10M ceiling is only a minimum; the
  table is always at or above it.
- **Rounding.** All volumes are whole messages and every split adds up exactly:
  1. the day's total is ``min(ips x schedule[day], target)``;
  2. it is split across IPs evenly, the first ``total mod ips`` IPs carrying one more;
  3. it is split across mailbox providers by the largest-remainder method
     (floors first, then one message each to the largest fractions; ties go to the
     provider listed first: Gmail, Microsoft, Yahoo/AOL, Others);
  4. each provider's messages are dealt to the IPs in turn, continuing where the
     previous provider stopped. Each IP then gets exactly its share from step 2, and
     each provider's volume on an IP is within one message of an even split.
- **Migration.** The day's total is the quota through this service; the current
  provider carries ``max(current - quota, 0)``. Cut-over is the first day the quota
  covers all current traffic; if the target is below the current volume, the old
  provider keeps the difference after the plan ends.
- **Engagement windows** go by the week of the warm-up, not by the plan's length:
  weeks 1-2 opened or clicked in the last 30 days, weeks 3-4 in the last 60 days,
  weeks 5-6 nobody inactive for over 90 days, then the whole opted-in list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from math import ceil

# Per IP per day, days 1-29 (day 30: warm).
SPARKPOST_SCHEDULE: tuple[int, ...] = (
    200, 500, 1_000, 2_000, 5_000, 10_000, 20_000,
    40_000, 50_000, 75_000, 100_000, 150_000, 200_000, 250_000,
    325_000, 400_000, 500_000, 600_000, 750_000, 1_000_000, 1_250_000,
    1_750_000, 2_000_000, 3_000_000, 4_250_000, 5_000_000, 6_000_000, 7_500_000,
    10_000_000,
)  # fmt: skip
PER_IP_CEILING = SPARKPOST_SCHEDULE[-1]

# (daily volume up to, IPs), SendGrid 2017.
SENDGRID_IP_TABLE: tuple[tuple[int, int], ...] = (
    (800_000, 2),
    (2_500_000, 3),
    (3_500_000, 4),
    (5_000_000, 5),
    (7_500_000, 7),
    (10_000_000, 10),
    (20_000_000, 13),
    (50_000_000, 17),
    (80_000_000, 20),
)
BEYOND_TABLE_PER_IP = 4_000_000  # 80M / 20: the table's last ratio

PROVIDERS: tuple[tuple[str, str], ...] = (
    ("gmail", "Gmail"),
    ("microsoft", "Microsoft"),
    ("yahoo", "Yahoo/AOL"),
    ("others", "Others"),
)
PROVIDER_LABELS = dict(PROVIDERS)


@dataclass(frozen=True)
class Phase:
    first_day: int
    last_day: int | None  # None: open-ended
    weeks: str
    audience: str
    short: str  # for table cells and CSV


PHASES: tuple[Phase, ...] = (
    Phase(1, 14, "Weeks 1-2", "Only recipients who opened or clicked in the last 30 days.", "Engaged in last 30 days"),
    Phase(15, 28, "Weeks 3-4", "Only recipients who opened or clicked in the last 60 days.", "Engaged in last 60 days"),
    Phase(29, 42, "Weeks 5-6", "Nobody who has been inactive for more than 90 days.", "No one inactive over 90 days"),
    Phase(43, None, "From week 7", "Your whole opted-in list, with your usual list hygiene. Full reputation takes 4 to 8 weeks.", "Whole opted-in list"),
)  # fmt: skip


@dataclass(frozen=True)
class Signal:
    source: str
    codes: str
    meaning: str
    action: str


SLOW_DOWN_SIGNALS: tuple[Signal, ...] = (
    Signal(
        "Gmail",
        "421 4.7.28",
        "Gmail is rate-limiting the IP.",
        "Pause 10 minutes, then ramp connections back one at a time. Repeat today's volume tomorrow instead of advancing.",
    ),
    Signal(
        "Microsoft",
        "421 RP-001, RP-002, RP-003",
        "Outlook.com is throttling the IP for its reputation or volume.",
        "Hold at today's volume until the deferrals stop; check the IP in SNDS (green under 10% spam).",
    ),
    Signal(
        "Yahoo/AOL",
        "421 or 451 with TS01, TS02, TS03…",
        "Yahoo is deferring for unusual traffic or complaints.",
        "Hold at today's volume and send only to your most engaged recipients until the deferrals stop.",
    ),
    Signal(
        "Complaints",
        "Complaint rate over 0.1%",
        "Gmail's aim is under 0.1%; never reach 0.3%.",
        "Stop advancing, narrow the audience to recent openers and clickers, and check how these recipients opted in.",
    ),
    Signal(
        "Bounces",
        "Bounce rate over 5%",
        "The list needs review: old or bought addresses hurt a new IP most.",
        "Stop advancing and clean the list (remove hard bounces and long-inactive addresses) before the next step.",
    ),
)


class PlanError(ValueError):
    """Inputs that cannot make a plan; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Suggestion:
    ips: int
    basis: str


def suggest_ip_count(volume: int) -> Suggestion:
    if volume <= 0:
        raise PlanError("volume", "Enter a daily volume above zero.")
    for up_to, ips in SENDGRID_IP_TABLE:
        if volume <= up_to:
            return Suggestion(ips, f"SendGrid's table: up to {up_to:,} a day, {ips} IPs")
    ips = ceil(volume / BEYOND_TABLE_PER_IP)
    return Suggestion(
        ips,
        f"beyond SendGrid's table (80,000,000 a day on 20 IPs), one IP per "
        f"{BEYOND_TABLE_PER_IP:,} a day",
    )


def minimum_ips(volume: int) -> int:
    """The fewest IPs that keep each under the schedule's 10M-a-day top."""
    return max(1, ceil(volume / PER_IP_CEILING))


def split_evenly(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + 1 if i < extra else base for i in range(parts)]


def largest_remainder(total: int, weights: dict[str, Fraction | Decimal | int]) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights``; the parts add up to ``total``
    exactly. Ties go to the key that comes first."""
    weight_sum = sum(Fraction(w) for w in weights.values())
    if weight_sum <= 0:
        raise ValueError("weights must add up to more than zero")
    quotas = {k: Fraction(total) * Fraction(w) / weight_sum for k, w in weights.items()}
    parts = {k: int(q) for k, q in quotas.items()}  # quotas are >= 0: int() floors
    left = total - sum(parts.values())
    order = sorted(quotas, key=lambda k: (-(quotas[k] - parts[k]), list(weights).index(k)))
    for key in order[:left]:
        parts[key] += 1
    return parts


def deal(provider_totals: dict[str, int], ips: int) -> list[dict[str, int]]:
    """Deal each provider's messages to the IPs in turn, one provider after another.
    Message ``k`` of the day goes to IP ``k mod ips``."""

    def dealt_to(ip: int, upto: int) -> int:  # messages 0..upto-1 that land on ``ip``
        return max(0, (upto - ip + ips - 1) // ips)

    rows: list[dict[str, int]] = [{} for _ in range(ips)]
    start = 0
    for key, count in provider_totals.items():
        for ip in range(ips):
            rows[ip][key] = dealt_to(ip, start + count) - dealt_to(ip, start)
        start += count
    return rows


@dataclass(frozen=True)
class PlanInputs:
    volume: int
    ips: int
    start: date
    shares: dict[str, Decimal]  # percent, keyed like PROVIDERS, adding up to 100
    current_volume: int | None = None

    def to_json(self) -> dict:
        return {
            "volume": self.volume,
            "ips": self.ips,
            "start": self.start.isoformat(),
            "shares": {k: str(v) for k, v in self.shares.items()},
            "current_volume": self.current_volume,
        }

    @classmethod
    def from_json(cls, data: dict) -> PlanInputs:
        return cls(
            volume=int(data["volume"]),
            ips=int(data["ips"]),
            start=date.fromisoformat(data["start"]),
            shares={k: Decimal(data["shares"].get(k, "0")) for k, _ in PROVIDERS},
            current_volume=int(data["current_volume"]) if data.get("current_volume") else None,
        )

    @property
    def is_migration(self) -> bool:
        return self.current_volume is not None


@dataclass(frozen=True)
class Day:
    number: int
    date: date
    schedule_per_ip: int
    total: int  # through this service
    per_ip: list[int]
    providers: dict[str, int]
    per_ip_providers: list[dict[str, int]]
    phase: Phase
    old_provider: int | None  # None unless a migration

    @property
    def week(self) -> int:
        return (self.number - 1) // 7 + 1

    @property
    def all_traffic(self) -> int:
        return self.total + (self.old_provider or 0)

    @property
    def service_percent(self) -> Decimal | None:
        """This service's share of all traffic, for a migration."""
        if self.old_provider is None or not self.all_traffic:
            return None
        return (Decimal(self.total) * 100 / self.all_traffic).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class PhaseSpan:
    phase: Phase
    starts: date
    ends: date | None


@dataclass(frozen=True)
class Plan:
    inputs: PlanInputs
    days: list[Day]
    per_ip_target: list[int]
    cutover_day: Day | None
    phases: list[PhaseSpan] = field(default_factory=list)

    @property
    def last_day(self) -> Day:
        return self.days[-1]

    @property
    def warm_from(self) -> date:
        return self.last_day.date + timedelta(days=1)

    @property
    def old_provider_after(self) -> int:
        """What the old provider still carries once the plan is done (a partial migration)."""
        if not self.inputs.is_migration:
            return 0
        return max(self.inputs.current_volume - self.inputs.volume, 0)


def check_inputs(inputs: PlanInputs) -> None:
    """Raise PlanError for inputs no plan can follow; forms check the same first,
    in words beside each field."""
    if inputs.volume <= 0:
        raise PlanError("volume", "Enter a daily volume above zero.")
    if inputs.ips <= 0:
        raise PlanError("ips", "Enter at least one new IP.")
    if inputs.ips > inputs.volume:
        raise PlanError("ips", f"{inputs.volume:,} messages a day cannot keep {inputs.ips} IPs busy.")
    if inputs.ips < minimum_ips(inputs.volume):
        raise PlanError(
            "ips",
            f"{inputs.ips} IPs would each carry over {PER_IP_CEILING:,} a day; "
            f"use at least {minimum_ips(inputs.volume)}.",
        )
    if set(inputs.shares) != {k for k, _ in PROVIDERS} or any(v < 0 for v in inputs.shares.values()):
        raise PlanError("shares", "Give a share of 0% or more for each mailbox provider.")
    if sum(inputs.shares.values()) != 100:
        raise PlanError("shares", f"The shares add up to {sum(inputs.shares.values())}%; they must add up to 100%.")
    if inputs.current_volume is not None and inputs.current_volume <= 0:
        raise PlanError("current_volume", "Enter the current provider's daily volume, or leave it empty.")


def phase_for(day: int) -> Phase:
    for phase in PHASES:
        if phase.last_day is None or day <= phase.last_day:
            return phase
    raise AssertionError("the last phase is open-ended")


def build_plan(inputs: PlanInputs) -> Plan:
    check_inputs(inputs)
    per_ip_target = split_evenly(inputs.volume, inputs.ips)
    weights = {k: inputs.shares[k] for k, _ in PROVIDERS}
    days: list[Day] = []
    cutover = None
    for number, scheduled in enumerate(SPARKPOST_SCHEDULE, start=1):
        total = min(inputs.ips * scheduled, inputs.volume)
        providers = largest_remainder(total, weights)
        old = None
        if inputs.is_migration:
            old = max(inputs.current_volume - total, 0)
        day = Day(
            number=number,
            date=inputs.start + timedelta(days=number - 1),
            schedule_per_ip=scheduled,
            total=total,
            per_ip=split_evenly(total, inputs.ips),
            providers=providers,
            per_ip_providers=deal(providers, inputs.ips),
            phase=phase_for(number),
            old_provider=old,
        )
        days.append(day)
        if cutover is None and old == 0:
            cutover = day
        if total == inputs.volume:
            break
    phases = [
        PhaseSpan(
            p,
            inputs.start + timedelta(days=p.first_day - 1),
            inputs.start + timedelta(days=p.last_day - 1) if p.last_day else None,
        )
        for p in PHASES
    ]
    return Plan(inputs, days, per_ip_target, cutover, phases)


def default_name(inputs: PlanInputs) -> str:
    kind = "Migration" if inputs.is_migration else "Warm-up"
    ips = "1 IP" if inputs.ips == 1 else f"{inputs.ips} IPs"
    return f"{kind}: {inputs.volume:,} a day on {ips} from {inputs.start:%d %b %Y}"
