"""What to simulate: one frozen value, checked once, so the rest of the simulator can trust it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from gateway_sim.incidents import Absence, Incident, IncidentKind

DEFAULT_START = datetime(2026, 1, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
"""A Monday in January: winter, so households with space heating use it."""

MAX_READINGS_PER_MESSAGE = 1000
"""The MQTT contract's limit; batches are also kept under its 64 KiB payload limit."""


@dataclass(frozen=True, slots=True)
class SimConfig:
    households: int = 50
    days: float = 3.0
    seed: int = 1
    start: datetime = DEFAULT_START
    """Aware; readings fall on ``start + k * interval_s``."""
    interval_s: int = 900
    """Seconds between two readings of one meter (whole minutes)."""
    upload_every_s: int = 900
    """Seconds between two uploads of a gateway; a multiple of ``interval_s``.
    Equal to ``interval_s``: every reading is sent at once.  86400: a daily batch."""
    incidents: Sequence[Incident] | None = None
    """Scripted incidents; None generates a deterministic mix (each kind at least once)."""
    incident_share: float = 0.1
    """Share of households that get a generated incident (at least one per kind)."""
    timezone: str = "Asia/Shanghai"
    gas_only_households: int = 0
    """How many households (the last ones) have a gas meter only: no water meter."""
    water_only_households: int = 0
    """How many households (just before the gas-only ones) have a water meter only."""
    topic_prefix: str = "carewatch/v1"
    varied_routines: bool = False
    """Draw households from the wider mix: night owls, shift workers, irregular routines, outings."""
    batch_share: float = 0.0
    """Share of gateways that are NB-IoT meters: read hourly or half-hourly, upload a day's values once a day."""
    batch_upload_hour: float = 2.0
    """Local hour after which a daily batch goes out."""
    batch_jitter_h: float = 4.0
    """Each day's batch leaves at a random moment up to this many hours after ``batch_upload_hour``."""
    reading_loss: float = 0.0
    """Chance that a reading is lost on the radio (never sent); a third of losses last 30 min to 4 h."""
    real_cadence: bool = False
    """Meters report like real smart meters (gateway_sim.cadence): about hourly at irregular minutes,
    with gaps of hours to days clustered in some meters, in pulses of 1 or 10 litres; the
    registry is told an interval of an hour.  Reading loss and daily batches do not apply."""
    away_share: float = 0.0
    """Share of households (among those without an incident) away once: ground truth in ``Simulation.absences``."""
    absences: Sequence[Absence] | None = None
    """Scripted planned absences; None generates them from ``away_share``."""
    draining_batteries: Sequence[str] = ()
    """Households (ids) whose meters' batteries run down evenly from their level to empty over the run:
    a device fault for a technician (meter_low_battery), nothing about the elder."""
    incident_kinds: Sequence[IncidentKind] | None = None
    """Kinds the generated mix cycles through; None: every kind."""
    incident_lead_days: float = 1.0
    """Generated incidents and absences start no earlier than this into the run (detectors learn first)."""
    inactive_hours: float | None = None
    """How long a generated inactivity lasts before the elder is found; None: to the end of the run."""

    def __post_init__(self) -> None:
        if self.households < 1:
            raise ValueError(f"households must be at least 1, got {self.households}")
        if not self.days > 0:
            raise ValueError(f"days must be positive, got {self.days}")
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError(f"start {self.start!r} has no time zone; pass an aware datetime")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r} (use an IANA name such as 'Asia/Shanghai')") from exc
        if self.interval_s < 60 or self.interval_s % 60:
            raise ValueError(f"interval_s must be a whole number of minutes (>= 60), got {self.interval_s}")
        if self.upload_every_s < self.interval_s or self.upload_every_s % self.interval_s:
            raise ValueError(
                f"upload_every_s ({self.upload_every_s}) must be a positive multiple of interval_s ({self.interval_s})"
            )
        if self.days * 86400 < self.interval_s:
            raise ValueError(f"days ({self.days}) is shorter than one reading interval ({self.interval_s} s)")
        if not 0 <= self.incident_share <= 1:
            raise ValueError(f"incident_share must be between 0 and 1, got {self.incident_share}")
        if min(self.gas_only_households, self.water_only_households) < 0 or (
            self.gas_only_households + self.water_only_households > self.households
        ):
            raise ValueError("gas_only_households + water_only_households must be between 0 and households")
        for name in ("batch_share", "reading_loss", "away_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if not 0 <= self.batch_upload_hour < 24 or not 0 <= self.batch_jitter_h <= 12:
            raise ValueError("batch_upload_hour must be in [0, 24) and batch_jitter_h in [0, 12]")
        if not self.incident_lead_days >= 0:
            raise ValueError(f"incident_lead_days must not be negative, got {self.incident_lead_days}")
        if self.inactive_hours is not None and not self.inactive_hours > 0:
            raise ValueError(f"inactive_hours must be positive, got {self.inactive_hours}")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(self.zone)

    @property
    def end(self) -> datetime:
        """The instant the simulated clock stops."""
        return self.at_tick(self.reading_count_after_start)

    def at_tick(self, tick: int) -> datetime:
        """Local time of reading number ``tick`` (0 = start); UTC arithmetic, so DST zones stay right."""
        return (self.start.astimezone(UTC) + timedelta(seconds=tick * self.interval_s)).astimezone(self.zone)

    @property
    def reading_count_after_start(self) -> int:
        """Readings per meter after the one taken at ``start``."""
        return int(self.days * 86400 // self.interval_s)

    @property
    def minutes(self) -> int:
        """Length of the simulated run in minutes, the resolution of household activity."""
        return self.reading_count_after_start * self.interval_s // 60
