"""Per-household configuration of the detectors: plain, frozen values."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime, tzinfo
from operator import attrgetter
from zoneinfo import ZoneInfo

from carewatch.domain import MeterKind


@dataclass(frozen=True, slots=True)
class MeterProfile:
    meter_id: str
    kind: MeterKind
    interval_s: float = 900.0
    """How often the meter is expected to report (seconds between readings)."""
    upload_every_s: float = 0.0
    """How often the meter uploads what it read: 0 when each reading is sent as it is taken;
    86400 for an NB-IoT meter that sends a day of interval values in one daily batch."""

    def __reduce__(self) -> tuple[object, ...]:
        return (MeterProfile, (self.meter_id, self.kind, self.interval_s, self.upload_every_s))

    def __setstate__(self, state: tuple[object, ...]) -> None:
        _restore(self, state)

    @property
    def heard_every_s(self) -> float:
        """How often news of this meter arrives: every reading, or every batch."""
        return max(self.interval_s, self.upload_every_s)

    def silent_after_s(self, intervals: float) -> float:
        """How long the meter may go unheard before it counts as silent: `intervals` reading
        intervals, plus — for a batch meter — a batch period and a quarter of one more, because
        the network moves the daily upload slot by hours."""
        return intervals * self.interval_s + 1.25 * self.upload_every_s


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """Thresholds of the rules; every household may override any of them."""

    inactivity_window_h: float = 24.0
    gas_min_use_m3: float = 0.01
    """The seed rule: less than this much gas over the window raises an alert."""
    water_min_use_m3: float = 0.01
    gas_continuous_h: float = 3.0
    water_continuous_h: float = 2.0
    gas_min_flow_m3_per_h: float = 0.02
    """Slower than this, an interval does not count as gas flowing."""
    water_min_flow_m3_per_h: float = 0.005
    coarse_gas_flow_m3_per_h: float = 0.2
    coarse_water_flow_m3_per_h: float = 0.1
    """A meter read less often than every `fine_interval_s` (an NB-IoT meter's hourly values)
    sees everyday use averaged over the interval: a shower and the washing-up fill an hour
    with water, space heating fills an evening with gas.  Its intervals count as flowing
    only at these rates, which a burner or a tap left open reaches and everyday use does not,
    and only while steady (detectors.flow.STEADY): boiler cycles wander from hour to hour."""
    fine_interval_s: float = 900.0
    continuity_max_gap_h: float = 1.0
    """An interval longer than this between readings breaks a continuous-flow run:
    we cannot claim the flow was continuous across a gap we did not observe."""
    gas_daily_ceiling_m3: float = 6.0
    water_daily_ceiling_m3: float = 1.5
    silent_after_intervals: float = 4.0
    """The prior, and the floor: a meter is silent after this many expected intervals without a reading."""
    silent_warmup_gaps: int = 96
    """Gaps a meter (or the household) reports before its learned cadence replaces the prior
    (a day of quarter-hourly readings, four of hourly ones)."""
    silent_quantile: float = 0.999
    """The share of a meter's learned gaps one meter's silence is measured against (detectors.cadence)."""
    silent_household_quantile: float = 0.99
    """The share of the household's learned gaps (between readings of any of its meters) that
    the silence of every meter at once is measured against."""
    silent_meter_factor: float = 12.0
    """One meter is silent, while the household's other meters report, after its median gap plus
    this many times how far its learned `silent_quantile` gap reaches beyond the median (see
    detectors.cadence): slow on a gappy meter, whose own gaps run to days."""
    silent_tail_rate: float = 1e-5
    """One meter that has shown a tail (a gap longer than twice its median) is silent, while the household's
    other meters report, no sooner than a gap its tail says comes once in this many of its intervals
    (detectors.cadence: a power law fitted beyond its median, extrapolated past the longest gap learned,
    which a few hundred gaps cannot place): 0.02 such tickets per hourly meter in 100 days, were the fit right."""
    silent_tail_index: float = 1.5
    """The tail index a meter's few long gaps are pooled with: real meters' intervals longer than 6 h
    and than 24 h (0.5 % and 0.06 %, issue #14) fall as a power law of index 1.53."""
    silent_meter_most_h: float = 168.0
    """One meter's learned threshold (its spread rule or its tail) reaches at most this far: a dead meter is
    told within a week, though a gappy meter's spread to its longest gaps (days) would reach for weeks."""
    silent_household_factor: float = 7.0
    """Every meter of the household is silent (a gateway that died) after the household's median
    gap plus this many times how far its `silent_household_quantile` gap (between readings of any
    of its meters) reaches beyond it."""
    silent_together_quantile: float = 0.9
    """The meters went quiet together (as a dead gateway's do) when, at the household's newest reading,
    each had been heard within this share of its own learned gaps (its ordinary interval); otherwise the
    household's threshold is stretched by `silent_apart_factor`."""
    silent_apart_factor: float = 1.5
    """When the meters did not go quiet together, every meter silent at once still counts as the gateway
    after this many times the household's threshold: the others' ordinary gaps are no dead gateway, and
    a gateway that died while one meter was in its own gap (no last will) waits hours, not that meter's tail."""
    silent_offline_grace_h: float = 0.25
    """Every meter of the household is silent once its gateway has been offline by its MQTT last will
    this long (without waiting for the learned household threshold): a reconnect within it is no ticket."""
    silent_wait_while_online: bool = False
    """While the gateway's last status is "online", every meter silent at once is judged as one meter is
    (each against its own threshold), not by the household's shorter one: the gateway is alive, and a dead
    one says so by its last will.  Off by default (measured in docs/detectors.md)."""
    battery_low_pct: float = 15.0
    """The meter's own battery reading below this raises meter_low_battery ..."""
    battery_ok_pct: float = 25.0
    """... and only a reading above this clears it (hysteresis: a battery near the line, read
    warm at noon and cold at night, must not raise and clear the alert every day)."""
    weak_signal_dbm: float = -120.0
    """The median signal over `weak_signal_days` below this raises meter_weak_signal ..."""
    signal_ok_dbm: float = -115.0
    """... and a median above this clears it."""
    weak_signal_days: float = 3.0
    """How long the signal is watched before it is judged: one bad reading is never enough."""
    learned: bool = True
    """Learn this household's routine and warn from it (after the warm-up); False: fixed rules only."""
    warmup_days: int = 14
    """Days of normal life learned before the learned detectors may speak; the fixed rules protect meanwhile."""
    learn_days: int = 28
    """How many recent normal days the learned detectors remember."""
    quiet_grace_h: float = 1.5
    """How long after the latest first use learned (in the morning) a spell still counts as usual."""
    quiet_pool_h: float = 2.0
    """A quiet spell learned up to this much later in the day counts as usual now too."""
    quiet_margin_h: float = 1.0
    """How much longer than the longest learned spell nearby a quiet spell may be."""
    quiet_floor_h: float = 2.0
    """No quiet spell shorter than this is ever unusual."""
    quiet_pool_day: bool = True
    """The longest daytime spell learned is usual at any hour (households that go out at any time)."""
    coarse_quiet_margin_h: float = 1.0
    coarse_check_in_grace_h: float = 0.5
    """Added to `quiet_margin_h` and `check_in_grace_h` in a household with a meter read less often than
    every `fine_interval_s` (real meters about hourly): a use shows only at the next reading, so the
    quiet learned wanders by up to an hour from day to day, and the longest learned is exceeded more
    often by chance (measured in docs/detectors.md, the real-cadence family)."""
    check_in: bool = True
    """The soft tier (detectors.checkin): ask the elder first when a quiet spell is longer than usual."""
    check_in_rank: int = 1
    """"Longer than usual" at a quarter-hour: longer than the `check_in_rank`-th longest quiet learned
    there (1: the longest), carried forward by `check_in_grace_h` — without the learned alert's pooling
    across hours, margin and floors (measured in docs/detectors.md: rank 2 asked twice as often)."""
    check_in_grace_h: float = 0.5
    """How long past the usual spell (carried forward from the quarters before) the check-in waits."""
    check_in_floor_h: float = 1.0
    """No spell shorter than this asks the elder."""
    check_in_day_reach_h: float = 1.5
    """For a quiet spell that began in the day: the longest quiet learned at a quarter-hour is usual only
    up to this much beyond the second longest (one day's long outing, or a use hidden in a lost stretch of
    readings, does not make hours of quiet usual at that hour; measured in docs/detectors.md)."""
    check_in_day_anchor: float = 0.9
    """For a quiet spell that began in the day: no `check_in_grace_h` is carried into a quarter-hour the
    household used on at least this share of its learned days (a meal it always cooks then); above 1: none such."""
    check_in_answer_h: float = 1.0
    """An unanswered check-in, with the household still quiet, raises the learned inactivity alert after this."""
    check_in_from_h: float = 7.0
    check_in_until_h: float = 21.0
    """Until the household's sleeping hours are learned (or with `check_in_awake` off), the elder is
    asked only between these local clock hours (never woken at night)."""
    check_in_awake: bool = True
    """Once its sleeping hours are learned (detectors.night.NightUse), ask outside them instead, and
    only between `check_in_earliest_h` and `check_in_latest_h`: a household up till 23:00 is asked
    about an evening's quiet that evening, not the next morning; an early sleeper is not rung at 20:30."""
    check_in_earliest_h: float = 6.0
    check_in_latest_h: float = 23.0
    river_quiet: bool = False
    """Also warn of quiet from a river anomaly model fitted on the household's hourly quiet
    (detectors.anomaly.RiverQuiet); off by default: see docs/detectors.md for its measured row."""
    outcome_quiet_widen_h: float = 6.0
    """The most one "went out" outcome on a learned quiet alert widens the learned limit at that clock
    time (on that weekday) beyond what was learned there; never past the seed rule's window, which no
    outcome ever changes."""
    outcome_silent_max_h: float = 48.0
    """The longest gap one "meter fault" outcome on a silent-meter ticket teaches as the meter's own."""


    def __setstate__(self, state: tuple[object, ...]) -> None:
        _restore(self, state)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled with each household's detector state: only what differs from the defaults.
        return (_rules, (changed_rules(self),))


_RULE_NAMES = tuple(f.name for f in fields(RuleConfig))
_RULE_DEFAULTS = tuple(f.default for f in fields(RuleConfig))
"""Each setting's default, in field order: asked for every household state pickled."""
_rule_values = attrgetter(*_RULE_NAMES)
"""A RuleConfig's settings in field order, as one tuple (taken in C: most households change none)."""


def changed_rules(rules: RuleConfig) -> tuple[tuple[str, object], ...]:
    """The settings of ``rules`` that differ from the defaults, in field order (what is pickled of them).

    >>> changed_rules(RuleConfig(learned=False))
    (('learned', False),)
    >>> changed_rules(RuleConfig())
    ()
    """
    values = _rule_values(rules)
    if values == _RULE_DEFAULTS:  # no default is NaN: equal tuples are equal setting by setting
        return ()
    return tuple((name, value) for name, value, default in zip(_RULE_NAMES, values, _RULE_DEFAULTS, strict=True) if value != default)


def _rules(changed: tuple[tuple[str, object], ...]) -> RuleConfig:
    return RuleConfig(**dict(changed))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class AwayWindow:
    """A planned absence (a hospital stay, a visit to the children), entered by duty staff.

    Inside it the inactivity detectors stay silent; they resume by themselves at its end.
    Safety detectors (gas or water flowing for hours) stay active.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"away window {self.start!r} – {self.end!r} needs times with a UTC offset")
        if self.end <= self.start:
            raise ValueError(f"away window ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})")


@dataclass(frozen=True, slots=True)
class HouseholdProfile:
    household_id: str
    meters: tuple[MeterProfile, ...]
    rules: RuleConfig = field(default_factory=RuleConfig)
    timezone: tzinfo = UTC
    """Local time zone: the clock of a household's routine, and of explanations ("since 19:40 yesterday")."""
    away: tuple[AwayWindow, ...] = ()
    """Planned absences, as stored by the console."""
    gateway_id: str | None = None
    """The gateway its meters report through (the registry's optional ``gateway_id``): whose status it hears."""

    def __setstate__(self, state: tuple[object, ...]) -> None:
        _restore(self, state)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled with each household's detector state: plain values, one reference to a class.
        meters = tuple((m.meter_id, m.kind.value, m.interval_s, m.upload_every_s) for m in self.meters)
        rules = changed_rules(self.rules)
        zone = self.timezone.key if isinstance(self.timezone, ZoneInfo) else None if self.timezone is UTC else self.timezone
        away = tuple((w.start, w.end) for w in self.away)
        gateway = () if self.gateway_id is None else (self.gateway_id,)  # a profile pickled before it had none
        return (_profile, (self.household_id, meters, rules, zone, away, *gateway))

    def meter(self, meter_id: str) -> MeterProfile | None:
        return next((m for m in self.meters if m.meter_id == meter_id), None)

    def meters_of(self, kind: MeterKind) -> tuple[MeterProfile, ...]:
        return tuple(m for m in self.meters if m.kind is kind)


def _profile(
    household_id: str,
    meters: tuple[tuple[str, str, float, float], ...],
    rules: tuple[tuple[str, object], ...],
    zone: str | tzinfo | None,
    away: tuple[tuple[datetime, datetime], ...],
    gateway_id: str | None = None,
) -> HouseholdProfile:
    return HouseholdProfile(
        household_id,
        tuple(MeterProfile(m, MeterKind(k), i, u) for m, k, i, u in meters),
        _rules(rules),
        ZoneInfo(zone) if isinstance(zone, str) else UTC if zone is None else zone,
        tuple(AwayWindow(start, end) for start, end in away),
        gateway_id,
    )


def _restore(value: object, state: tuple[object, ...]) -> None:
    """Unpickle a value stored before later fields were added: those take their defaults."""
    for n, f in enumerate(fields(value)):  # type: ignore[arg-type]
        if n < len(state):
            item = state[n]
        elif f.default_factory is not MISSING:  # type: ignore[misc]
            item = f.default_factory()  # type: ignore[misc]
        else:
            item = f.default
        object.__setattr__(value, f.name, item)
