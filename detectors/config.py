"""Per-household configuration of the detectors: plain, frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from carewatch.domain import MeterKind


@dataclass(frozen=True, slots=True)
class MeterProfile:
    meter_id: str
    kind: MeterKind
    interval_s: float = 900.0
    """How often the meter is expected to report (seconds between readings)."""


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
    continuity_max_gap_h: float = 1.0
    """An interval longer than this between readings breaks a continuous-flow run:
    we cannot claim the flow was continuous across a gap we did not observe."""
    gas_daily_ceiling_m3: float = 6.0
    water_daily_ceiling_m3: float = 1.5
    silent_after_intervals: float = 4.0
    """A meter is silent after this many expected intervals without a reading."""


@dataclass(frozen=True, slots=True)
class HouseholdProfile:
    household_id: str
    meters: tuple[MeterProfile, ...]
    rules: RuleConfig = field(default_factory=RuleConfig)
    timezone: tzinfo = UTC
    """Local time zone, used only to word explanations ("since 19:40 yesterday")."""

    def meter(self, meter_id: str) -> MeterProfile | None:
        return next((m for m in self.meters if m.meter_id == meter_id), None)

    def meters_of(self, kind: MeterKind) -> tuple[MeterProfile, ...]:
        return tuple(m for m in self.meters if m.kind is kind)
