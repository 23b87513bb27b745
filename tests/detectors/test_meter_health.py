"""Meter health: battery, signal and the meter's own flags are for a technician, and never a false alarm
from one reading."""

from __future__ import annotations

import dataclasses
import pickle

from tests.detectors.conftest import GAS, WATER, at, bursts, changes, cleared, gas, interleave, monitor, raised, series, water

from carewatch.domain import INACTIVITY_TYPES, AlertType, Audience, MeterFlag, MeterKind, Reading, Severity, Tick, Transition
from detectors.meter_health import HEALTH_ALERTS

LOW = AlertType.METER_LOW_BATTERY
WEAK = AlertType.METER_WEAK_SIGNAL
TAMPER = AlertType.METER_TAMPER


def health(reading: Reading, battery: float | None = None, signal: float | None = None, status: str | None = None) -> Reading:
    return dataclasses.replace(reading, battery_pct=battery, signal_dbm=signal, status=status)


def health_changes(detections: list) -> list[tuple[AlertType, Transition]]:  # type: ignore[type-arg]
    return [c for c in changes(detections) if c[0] in HEALTH_ALERTS]


def test_the_health_alerts_are_technician_warnings_and_never_inactivity() -> None:
    for alert in HEALTH_ALERTS:
        assert alert.audience is Audience.TECHNICIAN
        assert not alert.is_inactivity and alert not in INACTIVITY_TYPES
    assert {flag.alert_type for flag in MeterFlag} <= set(HEALTH_ALERTS)


def test_low_battery_is_raised_below_15_and_cleared_only_above_25() -> None:
    target = monitor(MeterKind.GAS)
    batteries = [40, 16, 14.5, 18, 13, 24, 25, 25.5, 20]
    found = []
    for n, battery in enumerate(batteries):
        found.append(health_changes(list(target.observe(health(gas(n, 5.0), battery=battery)).detections)))

    assert found == [[], [], [raised(LOW)], [], [], [], [], [cleared(LOW)], []]


def test_the_low_battery_alert_is_idempotent_and_says_what_to_do() -> None:
    readings = [health(gas(n, 5.0), battery=30 - 6 * n) for n in range(4)]  # 30, 24, 18, 12 %
    first, second = monitor(MeterKind.GAS), monitor(MeterKind.GAS)
    [alert] = [d for r in readings for d in first.observe(r).detections]
    [again] = [d for r in readings for d in second.observe(r).detections]

    assert alert.alert_id == again.alert_id == "hh-0007.meter_low_battery.20240105T144000Z"  # onset: the reading at 12 %
    assert alert.severity is Severity.WARNING and alert.meter_ids == (GAS,)
    assert (alert.facts["battery_pct"], alert.facts["low_pct"], alert.facts["ok_pct"]) == (12.0, 15.0, 25.0)
    assert "replace the battery" in alert.explanation.en and "更换电池" in alert.explanation.zh


def test_a_battery_left_unreported_changes_nothing() -> None:
    target = monitor(MeterKind.GAS)
    target.observe(health(gas(0, 5.0), battery=10))
    assert LOW in target.raised()
    target.observe(gas(1, 5.0))  # no battery in this reading: still low
    assert LOW in target.raised()


def test_a_late_reading_says_nothing_about_the_battery_now() -> None:
    target = monitor(MeterKind.GAS)
    target.observe(health(gas(2, 5.0), battery=50))
    observation = target.observe(health(gas(1, 5.0), battery=5))  # older than the newest reading

    assert observation.accepted and health_changes(list(observation.detections)) == []


def test_one_bad_signal_reading_raises_nothing() -> None:
    target = monitor(MeterKind.WATER)
    found = []
    for n in range(4 * 24 * 4):  # four days every 15 min, one awful reading among good ones
        signal = -140.0 if n == 200 else -95.0
        found += target.observe(health(water(n / 4, 40.0), signal=signal)).detections
    assert health_changes(found) == []


def test_a_weak_signal_is_raised_only_once_its_median_over_three_days_is_below_minus_120() -> None:
    target = monitor(MeterKind.WATER)
    found: list[tuple[float, tuple[AlertType, Transition]]] = []
    for n in range(6 * 24):  # hourly; weak for four days, with good readings between
        signal = -100.0 if n % 3 == 0 else -128.0
        if n >= 4 * 24:
            signal = -90.0
        for change in health_changes(list(target.observe(health(water(n, 40.0), signal=signal)).detections)):
            found.append((n, change))

    assert [c for _, c in found] == [raised(WEAK), cleared(WEAK)]
    raised_at, cleared_at = found[0][0], found[1][0]
    assert raised_at == 71  # the first hour three full days have been watched
    assert 4 * 24 < cleared_at < 6 * 24  # once the median has recovered, not at the first good reading
    [summary] = target.meter_health()
    assert summary.weak_signal is False and summary.signal_dbm == -90.0


def test_a_weak_signal_alert_explains_itself() -> None:
    target = monitor(MeterKind.WATER)
    found = [d for n in range(80) for d in target.observe(health(water(n, 40.0), signal=-125.0)).detections]
    [alert] = [d for d in found if d.alert_type is WEAK]
    assert alert.facts["median_dbm"] == -125.0 and alert.facts["hours"] == 72
    assert alert.explanation.en.startswith("Meter water-0007 has had a weak radio signal for 3 days (median -125 dBm, below -120 dBm")


def test_thresholds_follow_the_households_rules() -> None:
    target = monitor(MeterKind.GAS, battery_low_pct=30.0, battery_ok_pct=40.0)
    assert health_changes(list(target.observe(health(gas(0, 5.0), battery=29)).detections)) == [raised(LOW)]
    assert health_changes(list(target.observe(health(gas(1, 5.0), battery=35)).detections)) == []
    assert health_changes(list(target.observe(health(gas(2, 5.0), battery=41)).detections)) == [cleared(LOW)]


def test_a_tamper_flag_is_raised_as_reported_and_cleared_when_the_status_drops_it() -> None:
    target = monitor(MeterKind.WATER)
    statuses = ["OK", "TAMPER", None, "TAMPER LEAK", "LEAK", "ok", "DRY"]
    found = [health_changes(list(target.observe(health(water(n, 40.0), status=s)).detections)) for n, s in enumerate(statuses)]

    leak = AlertType.METER_LEAK
    assert found == [[], [raised(TAMPER)], [], [raised(leak)], [cleared(TAMPER)], [cleared(leak)], []]


def test_a_valve_closed_flag_is_its_own_alert() -> None:
    target = monitor(MeterKind.GAS)
    [alert] = target.observe(health(gas(0, 5.0), status="valve_closed")).detections
    assert alert.alert_type is AlertType.METER_VALVE_CLOSED and alert.alert_type.audience is Audience.TECHNICIAN
    assert alert.facts["status"] == "valve_closed"


def test_one_alert_covers_every_meter_in_the_same_condition() -> None:
    target = monitor()
    target.observe(health(gas(0, 5.0), battery=10))
    assert target.observe(health(water(0.5, 40.0), battery=12)).detections == ()  # widened, not raised again
    assert target.observe(health(gas(1, 5.0), battery=90)).detections == ()  # water still low
    [over] = target.observe(health(water(1.5, 40.0), battery=90)).detections

    assert over.transition is Transition.CLEARED and over.meter_ids == (GAS, WATER)
    assert over.explanation.en == "Meters gas-0007 and water-0007 batteries are good again (21:10)."


def test_health_alerts_raise_no_care_alert_in_a_household_using_gas_and_water() -> None:
    target = monitor()
    everyday = interleave(series(gas, 0, 30, bursts(5.0, 0.05, 2.0)), series(water, 0, 30, bursts(40.0, 0.02, 1.0)))
    found = []
    for n, reading in enumerate(everyday):
        found += target.observe(health(reading, battery=5.0, signal=-130.0, status="TAMPER LEAK valve_closed")).detections
        if n % 8 == 0:
            found += target.tick(Tick(reading.at))

    assert {d.alert_type for d in found} == {LOW, TAMPER, AlertType.METER_LEAK, AlertType.METER_VALVE_CLOSED}
    assert all(d.alert_type.audience is Audience.TECHNICIAN for d in found)


def test_health_is_summarised_per_meter_and_survives_pickle() -> None:
    target = monitor()
    target.observe(health(gas(0, 5.0), battery=10, signal=-101.0, status="TAMPER"))
    restored = pickle.loads(pickle.dumps(target))

    gas_health, water_health = restored.meter_health()
    assert (gas_health.meter_id, gas_health.heard_at, gas_health.battery_pct, gas_health.signal_dbm) == (GAS, at(0), 10.0, -101.0)
    assert gas_health.flags == (MeterFlag.TAMPER,) and gas_health.battery_low and gas_health.status == "TAMPER"
    assert water_health.meter_id == WATER and water_health.heard_at is None and water_health.flags == ()
    assert restored.raised() == target.raised()


def test_a_state_from_before_meter_health_is_read_and_health_starts_with_the_next_reading() -> None:
    target = monitor(MeterKind.GAS)
    target.observe(gas(0, 5.0))
    old_state = list(target.__getstate__())
    old_state[0] = 2
    old = type(target).__new__(type(target))
    old.__setstate__(tuple(old_state[:-1]))

    assert old.meter_health()[0].heard_at is None
    assert health_changes(list(old.observe(health(gas(1, 5.0), battery=3)).detections)) == [raised(LOW)]
