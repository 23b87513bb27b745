"""Small builders for detector tests: households, readings, streams of readings."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from carewatch.domain import AlertType, Detection, MeterKind, Reading, Tick, Transition
from detectors.config import HouseholdProfile, MeterProfile, RuleConfig
from detectors.household import HouseholdMonitor, Observation

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUSEHOLD = "hh-0007"
GAS = "gas-0007"
WATER = "water-0007"
T0 = datetime(2024, 1, 5, 11, 40, tzinfo=UTC)
"""19:40 in Shanghai: the examples of the brief read in local time."""

QUARTER_H = 0.25


def household(*kinds: MeterKind, **rules: float) -> HouseholdProfile:
    """A household with one meter of each kind given (default: gas and water).

    The soft tier (check-ins to the elder) is off unless `check_in=True` is given: these tests
    state what the rules and the learned alerts do by themselves; tests/detectors/test_checkin.py
    states the check-ins, and that the rules and learned alerts hold with them on."""
    rules.setdefault("check_in", False)
    kinds = kinds or (MeterKind.GAS, MeterKind.WATER)
    ids = {MeterKind.GAS: GAS, MeterKind.WATER: WATER}
    return HouseholdProfile(
        HOUSEHOLD,
        tuple(MeterProfile(ids[kind], kind) for kind in kinds),
        rules=RuleConfig(**rules),
        timezone=SHANGHAI,
    )


def monitor(*kinds: MeterKind, **rules: float) -> HouseholdMonitor:
    return HouseholdMonitor(household(*kinds, **rules))


def at(hours: float) -> datetime:
    """T0 plus some hours."""
    return T0 + timedelta(hours=hours)


def gas(hours: float, register_m3: float, meter_id: str = GAS) -> Reading:
    return Reading(HOUSEHOLD, meter_id, MeterKind.GAS, at(hours), register_m3)


def water(hours: float, register_m3: float, meter_id: str = WATER) -> Reading:
    return Reading(HOUSEHOLD, meter_id, MeterKind.WATER, at(hours), register_m3)


def series(
    make: Callable[[float, float], Reading],
    start_h: float,
    end_h: float,
    register: Callable[[float], float],
    step_h: float = QUARTER_H,
) -> list[Reading]:
    """Readings every `step_h` from `start_h` to `end_h` inclusive, register(hours)."""
    count = round((end_h - start_h) / step_h)
    return [make(start_h + i * step_h, register(start_h + i * step_h)) for i in range(count + 1)]


def constant(value: float) -> Callable[[float], float]:
    return lambda _hours: value


def rising(base: float, per_hour: float, since_h: float = 0.0) -> Callable[[float], float]:
    return lambda hours: base + per_hour * max(0.0, hours - since_h)


def bursts(base: float, step_m3: float, every_h: float, until_h: float = float("inf")) -> Callable[[float], float]:
    """Use in short bursts (step_m3 every every_h hours, the last at until_h):
    everyday use, which never looks like a continuous flow."""
    return lambda hours: base + step_m3 * int(min(hours, until_h) // every_h)


def interleave(*streams: Iterable[Reading]) -> list[Reading]:
    """Merge streams in event-time order (gas before water at the same instant)."""
    merged = [r for stream in streams for r in stream]
    return sorted(merged, key=lambda r: (r.at, r.kind != MeterKind.GAS))


def feed(target: HouseholdMonitor, readings: Iterable[Reading]) -> list[Detection]:
    """Observe every reading; return all detections, failing on any rejection."""
    out: list[Detection] = []
    for reading in readings:
        observation = target.observe(reading)
        assert observation.rejection is None, observation
        out += observation.detections
    return out


def observe_all(target: HouseholdMonitor, readings: Iterable[Reading]) -> list[Observation]:
    return [target.observe(r) for r in readings]


def changes(detections: Iterable[Detection]) -> list[tuple[AlertType, Transition]]:
    """The transitions only, in order: what a test usually states."""
    return [(d.alert_type, d.transition) for d in detections]


def raised(alert_type: AlertType) -> tuple[AlertType, Transition]:
    return (alert_type, Transition.RAISED)


def cleared(alert_type: AlertType) -> tuple[AlertType, Transition]:
    return (alert_type, Transition.CLEARED)


def _eventful_gas(hours: float) -> float:
    register = 8.0 + 0.05 * int(min(hours, 2.0) // 0.5)  # cooking until 2 h, then nothing
    if hours > 40:
        register += 0.12 * (min(hours, 44.5) - 40)  # a burner left on from 40 h to 44.5 h
    return register


def _eventful_water(hours: float) -> float:
    register = 40.0 + 0.05 * int(min(hours, 5.0) // 1)  # washing until 5 h, then nothing
    if hours >= 46:
        register += 0.05 * int((hours - 44) // 2)  # back to everyday use
    if hours >= 50:
        register += 1.6  # a burst pipe, or a bath too many
    return register


def eventful_days() -> list[Reading]:
    """Sixty hours of one household, in event-time order: no gas (warning), then
    no activity (critical), gas use resuming as a burner left on (continuous),
    water use back, a day's water in one go (ceiling), a gas meter down from
    52 h to 55 h."""
    gas_readings = [r for r in series(gas, 0, 60, _eventful_gas) if not at(52) < r.at < at(55)]
    return interleave(gas_readings, series(water, 0, 60, _eventful_water))


def quiet_from(start_h: float, until_h: float = float("inf")) -> Callable[[float], bool]:
    """For `routine(quiet=...)`: no use from `start_h` until `until_h` (hours after T0; default: never again)."""
    return lambda hours: start_h <= hours < until_h


def routine(
    days: int,
    *,
    kinds: tuple[MeterKind, ...] = (MeterKind.GAS, MeterKind.WATER),
    seed: int = 42,
    quiet: Callable[[float], bool] = lambda _hours: False,
    step_h: float = QUARTER_H,
    start_h: float = 0.0,
    amount: Callable[[float], float] = lambda _hours: 1.0,
    water_h: tuple[float, ...] = (0.0, 0.5, 1.5, 4.5, 7.5, 11.0, 14.0),
) -> list[Reading]:
    """An elder's ordinary days from T0 (19:40 in Shanghai): up at about 07:00, washing,
    cooking three meals, to bed by 22:00; readings every `step_h`.  No use at the hours
    where `quiet(hours)` holds (an incident, an absence); each use `amount(hours)` times its usual size.
    `water_h`: when water is used, in hours after rising."""
    rng = random.Random(seed)
    water_uses, gas_uses = [], []
    for day in range(days + 1):
        morning = 11.33 + 24 * day + rng.uniform(-0.25, 0.25)  # 07:00 local = T0 + 11 h 20
        water_uses += [morning + h for h in water_h]
        gas_uses += [morning + h for h in (0.6, 5.0, 11.0)]
    uses = {MeterKind.WATER: sorted(water_uses), MeterKind.GAS: sorted(gas_uses)}
    step_m3 = {MeterKind.WATER: 0.01, MeterKind.GAS: 0.05}
    make = {MeterKind.GAS: gas, MeterKind.WATER: water}
    readings = []
    count = round(days * 24 / step_h)
    for i in range(count + 1):
        hours = start_h + i * step_h
        for kind in kinds:
            used = sum(amount(u) for u in uses[kind] if u <= hours and not quiet(u))
            register = (8.0 if kind is MeterKind.GAS else 40.0) + step_m3[kind] * used
            readings.append(make[kind](hours, round(register, 4)))  # as a dial shows it
    return readings


def monitor_after(days: int) -> HouseholdMonitor:
    """The default household's monitor, fed `days` of its ordinary `routine`."""
    target = monitor()
    feed(target, routine(days))
    return target


def live(target: HouseholdMonitor, readings: Iterable[Reading]) -> list[Detection]:
    """Feed readings as a live gateway would, with a tick after each instant."""
    out: list[Detection] = []
    last = None
    for reading in readings:
        if last is not None and reading.at != last:
            out += target.tick(Tick(last))
        observation = target.observe(reading)
        assert observation.rejection is None, observation
        out += observation.detections
        last = reading.at
    if last is not None:
        out += target.tick(Tick(last))
    return out


def local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%d %H:%M")
