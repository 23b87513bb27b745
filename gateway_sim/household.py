"""One simulated household: an elder living alone, a gateway, and a gas and/or water meter."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from gateway_sim import cadence
from gateway_sim.incidents import Absence, Incident, IncidentKind
from gateway_sim.meters import GAS_LIMIT, WATER_LIMIT, flow_per_minute, keep_within_limits, registers_litres
from gateway_sim.routines import Habits, plan_life

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_NAMES = ("秀英", "桂英", "玉兰", "淑珍", "凤英", "建国", "国华", "志明", "德福", "秀兰", "桂兰", "春生", "文华", "金花")
STREETS = ("幸福路", "人民路", "解放路", "建设路", "和平街", "长寿路", "光明路", "中山路")
SITES = ("donghu", "xiyuan", "nanshan", "beiguan")
"""Neighbourhood communities (社区) whose duty staff watch these households."""


@dataclass(frozen=True, slots=True)
class SimMeter:
    meter_id: str
    kind: str
    """"gas" or "water"."""
    initial_m3: float
    """The dial at the start of the run (years of earlier use)."""
    battery_pct: int
    signal_dbm: int
    """Typical radio signal; each reading varies around it."""
    pulse_l: int = 1
    """The step the register moves in, in litres (a real-cadence pulse meter: 1 or 10)."""
    gappiness: float = 0.0
    """A real-cadence meter's gap share, in times the average (gateway_sim.cadence); 0: reads on every tick."""


@dataclass(frozen=True, slots=True)
class SimHousehold:
    index: int
    household_id: str
    gateway_id: str
    name: str
    site: str
    address: str
    habits: Habits
    meters: tuple[SimMeter, ...]
    upload_offset_s: int
    """Seconds after each upload tick this gateway sends: real gateways do not all send at :00."""
    tap_left_open_m3_per_h: float
    """How fast water runs if this elder leaves a tap open (a water_left_on incident)."""
    read_every_ticks: int = 1
    """The gateway reads its meters at every this many simulation ticks (NB-IoT meters: hourly)."""
    daily_batch: bool = False
    """Uploads once a day what it read (NB-IoT), instead of at every upload tick."""
    real_cadence: bool = False
    """Its meters report like real smart meters (gateway_sim.cadence): each at its own irregular
    times, with gaps, in pulses; every reading is sent as it comes."""

    @classmethod
    def create(
        cls,
        index: int,
        width: int,
        kinds: Sequence[str],
        seed: int,
        upload_every_s: int,
        *,
        varied: bool = False,
        batch_share: float = 0.0,
        interval_s: int = 900,
        real_cadence: bool = False,
    ) -> SimHousehold:
        rng = random.Random(f"gateway_sim.household:{seed}:{index}")
        number = f"{index:0{width}d}"
        meters = tuple(
            SimMeter(
                meter_id=f"{'gas' if kind == 'gas' else 'wat'}-{number}",
                kind=kind,
                initial_m3=rng.uniform(300, 6000) if kind == "gas" else rng.uniform(150, 3000),
                battery_pct=rng.randint(8, 19) if rng.random() < 0.04 else rng.randint(35, 100),
                signal_dbm=rng.randint(-112, -70),
            )
            for kind in kinds
        )
        if real_cadence:  # its own stream: the other draws stay those of the other families
            cadence_rng = random.Random(f"gateway_sim.cadence:{seed}:{index}")
            meters = tuple(
                replace(m, pulse_l=cadence.pulse_litres(m.kind, cadence_rng), gappiness=cadence.gappiness(cadence_rng))
                for m in meters
            )
        return cls(
            index=index,
            household_id=f"hh-{number}",
            gateway_id=f"gw-{number}",
            name=rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES),
            site=SITES[(index - 1) % len(SITES)],
            address=_address(rng),
            habits=Habits.draw_varied(rng) if varied else Habits.draw(rng),
            meters=meters,
            upload_offset_s=rng.randint(1, min(59, upload_every_s - 1)),
            tap_left_open_m3_per_h=rng.uniform(0.12, 0.3),
            real_cadence=real_cadence,
            **_upload_plan(random.Random(f"gateway_sim.uploads:{seed}:{index}"), batch_share, interval_s),
        )

    def registry_entry(self, timezone: str, interval_s: int) -> dict[str, object]:
        meter_interval_s = cadence.REPORT_EVERY_S if self.real_cadence else interval_s * self.read_every_ticks
        batch = {"upload_every_s": 86400} if self.daily_batch else {}
        return {
            "household_id": self.household_id,
            "name": self.name,
            "site": self.site,
            "address": self.address,
            "timezone": timezone,
            "gateway_id": self.gateway_id,
            "meters": [
                {"meter_id": m.meter_id, "kind": m.kind, "interval_s": meter_interval_s, **batch} for m in self.meters
            ],
            "rules": {},
        }


def _upload_plan(rng: random.Random, batch_share: float, interval_s: int) -> dict[str, object]:
    """A daily-batch (NB-IoT) gateway reads hourly or half-hourly, where the tick allows it."""
    if not batch_share or rng.random() >= batch_share:
        return {}
    every_s = rng.choice((3600, 1800))
    return {"daily_batch": True, "read_every_ticks": every_s // interval_s if every_s % interval_s == 0 else 1}


def _address(rng: random.Random) -> str:
    street, number, building, entrance = rng.choice(STREETS), rng.randint(1, 300), rng.randint(1, 20), rng.randint(1, 4)
    return f"{street}{number}号{building}栋{entrance}单元{rng.randint(1, 7)}0{rng.randint(1, 4)}室"


@dataclass(frozen=True, slots=True, eq=False)
class MeterSeries:
    """What one meter reports at each reading tick of the run (index 0 is the run's start)."""

    meter: SimMeter
    registers_l: np.ndarray
    signal_dbm: np.ndarray
    battery_pct: np.ndarray
    """The battery the meter reports at each tick: its level throughout, or running down (`draining`)."""
    litres_by_minute: np.ndarray | None = None
    """The register at every minute of the run (index 0 is the start), kept for a real-cadence
    meter, which reads at minutes of its own; None otherwise."""

    def register_at(self, seconds: float) -> int:
        """A real-cadence meter's register (litres, in its pulses) at this many seconds into the run."""
        if self.litres_by_minute is None:
            raise ValueError(f"meter {self.meter.meter_id} reads on the tick grid: use registers_l")
        litres = int(self.litres_by_minute[min(int(seconds // 60), len(self.litres_by_minute) - 1)])
        return litres - litres % self.meter.pulse_l

    def status(self, tick: int) -> str:
        return "low_battery" if self.battery_pct[tick] < 20 else "ok"


def _battery(level: int, ticks: int, draining: bool) -> np.ndarray:
    if not draining:
        return np.full(ticks, level, dtype=np.int64)
    return np.rint(np.linspace(level, 0, ticks)).astype(np.int64)


def simulate_meters(
    household: SimHousehold,
    incidents: Sequence[Incident],
    *,
    seed: int,
    run_start: datetime,
    run_minutes: int,
    interval_s: int,
    zone: ZoneInfo,
    absences: Sequence[Absence] = (),
    draining: bool = False,
) -> tuple[MeterSeries, ...]:
    """Live the household's run: normal life, kept within the flow limits, then its incidents on top."""
    # Normal life has its own random stream, so adding or moving an incident never changes it.
    life_rng = random.Random(f"gateway_sim.life:{seed}:{household.index}")
    events = plan_life(household.habits, life_rng, run_start, run_minutes, zone)
    initial = {m.kind: m.initial_m3 for m in household.meters}
    limits = {kind: limit for kind, limit in (("gas", GAS_LIMIT), ("water", WATER_LIMIT)) if kind in initial}
    events = keep_within_limits(events, run_minutes, interval_s, initial, limits)
    flows = {kind: flow_per_minute(events, run_minutes, kind) for kind in initial}
    for absence in absences:  # nobody home: nothing used
        first = _minute(absence.start, run_start, run_minutes, math.floor)
        stop = _minute(absence.end, run_start, run_minutes, math.ceil)
        for flow in flows.values():
            flow[first:stop] = 0.0
    _apply_incidents(flows, household, incidents, run_start, run_minutes, zone)

    noise = np.random.default_rng([seed, household.index, 7])
    ticks = run_minutes // (interval_s // 60) + 1
    return tuple(
        MeterSeries(
            meter=meter,
            registers_l=registers_litres(meter.initial_m3, flows[meter.kind], interval_s // 60),
            signal_dbm=np.clip(meter.signal_dbm + np.rint(noise.normal(0, 2, ticks)), -150, 0).astype(np.int64),
            battery_pct=_battery(meter.battery_pct, ticks, draining),
            litres_by_minute=registers_litres(meter.initial_m3, flows[meter.kind], 1) if household.real_cadence else None,
        )
        for meter in household.meters
    )


def _apply_incidents(
    flows: dict[str, np.ndarray],
    household: SimHousehold,
    incidents: Sequence[Incident],
    run_start: datetime,
    run_minutes: int,
    zone: ZoneInfo,
) -> None:
    # Inactivity first: a burner left on by an elder who then collapses keeps burning.
    for incident in sorted(incidents, key=lambda i: i.kind is not IncidentKind.INACTIVE):
        first = _minute(incident.start, run_start, run_minutes, math.floor)
        stop = run_minutes if incident.end is None else _minute(incident.end, run_start, run_minutes, math.ceil)
        if incident.kind is IncidentKind.INACTIVE:
            for flow in flows.values():
                flow[first:stop] = 0.0
        elif incident.kind is IncidentKind.GAS_LEFT_ON and "gas" in flows:
            flows["gas"][first:stop] += household.habits.stove_m3_per_h / 60.0
        elif incident.kind is IncidentKind.WATER_LEFT_ON and "water" in flows:
            flows["water"][first:stop] += household.tap_left_open_m3_per_h / 60.0
        elif incident.kind is IncidentKind.NIGHT_RESTLESS and "water" in flows:
            _restless_nights(flows["water"], household, incident, first, stop, run_start, zone)
        elif incident.kind is IncidentKind.DECLINE:
            ramp = np.clip((np.arange(stop - first) / (5 * 1440.0)), 0.0, 1.0)
            for flow in flows.values():
                flow[first:stop] *= 1.0 - 0.65 * ramp
        # GATEWAY_SILENT changes what is sent, not what is used: see simulation.py.


def _restless_nights(
    water: np.ndarray,
    household: SimHousehold,
    incident: Incident,
    first: int,
    stop: int,
    run_start: datetime,
    zone: ZoneInfo,
) -> None:
    """A toilet flush about every hour of the elder's usual night (from 90 min after bedtime to
    an hour before rising), each night of the incident."""
    rng = random.Random(f"gateway_sim.restless:{incident.household_id}:{incident.start.isoformat()}")
    night_from, night_to = household.habits.bed_min + 90, household.habits.wake_min + 1440 - 60
    minute = first
    while minute < stop:
        local = (run_start.astimezone(UTC) + timedelta(minutes=minute)).astimezone(zone)
        clock = local.hour * 60 + local.minute
        if night_from <= clock < night_to or night_from <= clock + 1440 < night_to:
            water[minute] += rng.uniform(5.5, 6.5) / 1000.0
            minute += rng.randint(45, 75)
        else:
            minute += 15


def _minute(at: datetime, run_start: datetime, run_minutes: int, rounding: Callable[[float], int]) -> int:
    minutes = rounding((at.astimezone(UTC) - run_start.astimezone(UTC)).total_seconds() / 60.0)
    return max(0, min(run_minutes, minutes))
