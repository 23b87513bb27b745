"""The seed rule and its family: no gas, no water, no activity — from evidence only."""

from __future__ import annotations

import dataclasses

import pytest
from tests.detectors.conftest import (
    GAS,
    QUARTER_H,
    WATER,
    at,
    bursts,
    changes,
    cleared,
    constant,
    feed,
    gas,
    household,
    interleave,
    monitor,
    raised,
    series,
    water,
)

from carewatch.domain import AlertType, MeterKind, Reading, Severity, Tick, Transition
from detectors.config import MeterProfile
from detectors.household import HouseholdMonitor

NO_GAS, NO_WATER, NO_ACTIVITY = AlertType.NO_GAS_24H, AlertType.NO_WATER_24H, AlertType.NO_ACTIVITY_24H


@pytest.mark.parametrize(("used_m3", "alerts"), [(0.0099, True), (0.0100, False)])
def test_less_than_0_01_m3_of_gas_in_24_h_alerts_and_0_01_does_not(used_m3: float, alerts: bool) -> None:
    base = 12345.678  # a large register, where float subtraction is least exact
    # A trickle (a pilot flame, a dripping tap), never a litre between two readings: only the total counts.
    readings = series(gas, 0, 24, lambda hours: base + used_m3 * hours / 24)

    detections = feed(monitor(MeterKind.GAS), readings)

    assert changes(detections) == ([raised(NO_GAS)] if alerts else [])


def test_no_gas_is_raised_once_and_cleared_when_use_resumes() -> None:
    readings = [*series(gas, 0, 30, constant(10.0)), gas(30.25, 10.05), gas(30.5, 10.05)]

    detections = feed(monitor(MeterKind.GAS), readings)

    assert changes(detections) == [raised(NO_GAS), cleared(NO_GAS)]
    first, last = detections
    assert first.at == at(24) and last.at == at(30.25)
    assert first.alert_id == last.alert_id
    assert last.explanation.en == "Gas use resumed at 01:55 (0.05 m³ in the last 24 h)."
    assert last.explanation.zh == "01:55恢复用气（过去24小时用气0.05立方米）。"


def test_quiet_since_is_the_end_of_the_last_real_use() -> None:
    readings = series(gas, 0, 27, bursts(10.0, 0.05, every_h=0.5, until_h=2.0))

    detections = feed(monitor(MeterKind.GAS), readings)

    [alert] = detections
    assert alert.onset == at(2) and alert.at == at(26)
    assert alert.alert_id == "hh-0007.no_gas_24h.20240105T134000Z"
    assert alert.explanation.en == (
        "No gas used since 21:40 on 01-05 (24.0 h); less than 0.01 m³ in the last 24 h."
    )
    assert alert.explanation.zh == "自01-05 21:40起未使用燃气（24.0小时），过去24小时用气不足0.01立方米。"
    assert alert.facts["hours"] == 24.0 and alert.facts["threshold_m3"] == 0.01
    assert alert.facts["since"] == "2024-01-05T13:40:00+00:00"


@pytest.mark.parametrize(("kind", "alert_type"), [(MeterKind.GAS, NO_GAS), (MeterKind.WATER, NO_WATER)])
def test_a_household_with_one_meter_kind_alerts_critical(kind: MeterKind, alert_type: AlertType) -> None:
    make = gas if kind is MeterKind.GAS else water

    [alert] = feed(monitor(kind), series(make, 0, 25, constant(3.0)))

    assert alert.alert_type is alert_type and alert.severity is Severity.CRITICAL
    assert alert.meter_ids == ((GAS,) if kind is MeterKind.GAS else (WATER,))


def test_no_gas_while_water_is_used_is_a_warning() -> None:
    readings = interleave(series(gas, 0, 30, constant(8.0)), series(water, 0, 30, bursts(40.0, 0.05, every_h=3)))

    [alert] = feed(monitor(), readings)

    assert alert.alert_type is NO_GAS and alert.severity is Severity.WARNING


def test_no_water_while_gas_is_used_is_a_warning() -> None:
    readings = interleave(series(gas, 0, 30, bursts(8.0, 0.05, every_h=3)), series(water, 0, 30, constant(40.0)))

    [alert] = feed(monitor(), readings)

    assert alert.alert_type is NO_WATER and alert.severity is Severity.WARNING


def _gas_idle_then_water_idle_from_3_h() -> list:
    return interleave(
        series(gas, 0, 28, constant(8.0)),
        series(water, 0, 28, bursts(40.0, 0.05, every_h=1, until_h=3)),
    )


def test_both_quiet_escalates_into_no_activity_and_clears_no_gas() -> None:
    detections = feed(monitor(), _gas_idle_then_water_idle_from_3_h())

    assert changes(detections) == [raised(NO_GAS), raised(NO_ACTIVITY), cleared(NO_GAS)]
    no_gas, no_activity, folded = detections
    assert no_activity.severity is Severity.CRITICAL
    assert no_activity.onset == at(3)  # quiet since the later of the two last uses
    assert no_activity.at == at(27) and folded.at == at(27)
    assert no_activity.meter_ids == (GAS, WATER)
    assert folded.alert_id == no_gas.alert_id
    assert "into \u201cno gas or water used in 24 hours\u201d" in folded.explanation.en
    assert folded.facts["escalated_into"] == "no_activity_24h"
    assert no_activity.explanation.en == (
        "No gas or water used since 22:40 on 01-05 (24.0 h); "
        "less than 0.01 m³ of gas and 0.01 m³ of water in the last 24 h."
    )


def test_no_activity_clears_when_water_use_resumes_without_a_second_no_gas_alert() -> None:
    target = monitor()
    feed(target, _gas_idle_then_water_idle_from_3_h())

    detections = feed(target, [gas(28.25, 8.0), water(28.25, 40.5), gas(28.5, 8.0), water(28.5, 40.5)])

    assert changes(detections) == [cleared(NO_ACTIVITY)]
    assert detections[0].explanation.en == (
        "Water use resumed at 23:55 (0.35 m³ in the last 24 h). "
        "Still no gas used since 19:40 on 01-05."
    )
    assert target.raised() == {}


def test_when_both_meters_go_quiet_together_only_no_activity_is_raised() -> None:
    readings = interleave(series(gas, 0, 26, constant(8.0)), series(water, 0, 26, constant(40.0)))

    detections = feed(monitor(), readings)

    assert changes(detections) == [raised(NO_ACTIVITY)]


def test_less_than_a_window_of_history_gives_no_verdict() -> None:
    detections = feed(monitor(MeterKind.GAS), series(gas, 0, 24 - QUARTER_H, constant(5.0)))

    assert detections == []


def test_silent_meter_is_not_inactivity() -> None:
    target = monitor()
    out = []
    for hour in range(0, 48):
        if hour <= 3:  # then the gas meter stops reporting for good
            out += target.observe(gas(hour, 8.0)).detections
        out += target.observe(water(hour, 40.0 + 0.05 * (hour // 3))).detections
        out += target.tick(Tick(at(hour + 0.5)))

    assert changes(out) == [raised(AlertType.METER_SILENT)]
    assert out[0].meter_ids == (GAS,)


def test_readings_resuming_after_a_gap_reveal_an_idle_household_from_evidence() -> None:
    target = monitor()
    out = []
    for hour in range(0, 31):
        if hour <= 2 or hour >= 30:  # the gas meter is down from 2 h to 30 h
            out += target.observe(gas(hour, 8.0)).detections
        out += target.observe(water(hour, 40.0 + 0.05 * (hour // 3))).detections
        out += target.tick(Tick(at(hour + 0.5)))

    assert changes(out) == [
        raised(AlertType.METER_SILENT),
        cleared(AlertType.METER_SILENT),
        raised(NO_GAS),
    ]
    assert out[-1].onset == at(0)  # the register did not move across the gap
    assert out[-1].at == at(30)


def test_use_during_a_gap_shows_in_the_register_and_is_not_inactivity() -> None:
    readings = [*series(gas, 0, 2, constant(8.0)), gas(30, 8.4), gas(30.25, 8.4)]

    assert feed(monitor(MeterKind.GAS), readings) == []


def test_inactivity_alerts_describe_themselves_for_the_duty_officer() -> None:
    [alert] = feed(monitor(MeterKind.GAS), series(gas, 0, 24, constant(5.0)))

    assert alert.transition is Transition.RAISED
    assert alert.alert_type.audience.value == "care"
    assert set(alert.facts) >= {"since", "hours", "used_m3", "threshold_m3", "window_h"}


def test_with_two_water_meters_the_water_is_quiet_only_when_both_are() -> None:
    profile = household(MeterKind.WATER)
    profile = dataclasses.replace(profile, meters=(*profile.meters, MeterProfile("water-hot", MeterKind.WATER)))
    target = HouseholdMonitor(profile)
    cold = series(water, 0, 37, constant(40.0))  # unused since the start
    hot = series(hot_water, 0, 37, bursts(3.0, 0.05, every_h=12, until_h=12))  # last used at 12 h

    [alert] = feed(target, interleave(cold, hot))

    assert alert.alert_type is NO_WATER and alert.at == at(36)
    assert alert.onset == at(12) and alert.meter_ids == (WATER, "water-hot")


def hot_water(hours: float, register_m3: float) -> Reading:
    return water(hours, register_m3, meter_id="water-hot")


def _water_idle_but_a_litre_or_two_at(hours: float, until_h: float = 30) -> list[Reading]:
    """Unused from the start, except 2 L (a hand wash) at `hours`: less than the seed rule's 10 L in any day."""
    return series(water, 0, until_h, lambda h: 40.0 if h < hours else 40.002)


def test_no_inactivity_alert_for_a_quiet_spell_that_ended_before_the_window_completed() -> None:
    detections = feed(monitor(MeterKind.WATER), _water_idle_but_a_litre_or_two_at(22))

    assert detections == []  # water was used at 22 h: the household was not idle for 24 h


def test_a_quiet_spell_after_resumed_use_is_judged_from_that_use() -> None:
    detections = feed(monitor(MeterKind.WATER), _water_idle_but_a_litre_or_two_at(22, until_h=47))

    [alert] = detections
    assert alert.alert_type is NO_WATER and alert.onset == at(22) and alert.at == at(46)


def test_use_resumed_on_one_meter_turns_no_activity_into_no_gas() -> None:
    readings = interleave(series(gas, 0, 30, constant(8.0)), _water_idle_but_a_litre_or_two_at(22))

    detections = feed(monitor(), readings)

    assert changes(detections) == [raised(NO_GAS)]
    assert detections[0].at == at(24) and detections[0].severity is Severity.WARNING


def test_an_open_inactivity_alert_clears_at_the_first_litre_used() -> None:
    readings = series(water, 0, 30, lambda h: 40.0 if h < 28 else 40.002)

    detections = feed(monitor(MeterKind.WATER), readings)

    assert changes(detections) == [raised(NO_WATER), cleared(NO_WATER)]
    assert detections[1].at == at(28)
    assert detections[1].explanation.en == "Water use resumed at 23:40 (0.002 m³ in the last 24 h)."


def test_a_new_quiet_spell_after_the_alert_cleared_is_a_new_alert() -> None:
    readings = series(water, 0, 53, lambda h: 40.0 if h < 28 else 40.002)

    detections = feed(monitor(MeterKind.WATER), readings)

    assert changes(detections) == [raised(NO_WATER), cleared(NO_WATER), raised(NO_WATER)]
    first, _, second = detections
    assert first.onset == at(0) and second.onset == at(28) and second.at == at(52)


def test_a_trickle_over_a_data_gap_does_not_hide_a_whole_idle_window() -> None:
    # Used 2 L at 1 h, then the gateway was down from 2 h to 30 h: the first reading after the gap
    # shows 3 L more, which may have run at any time in those 28 h (a dripping tap).
    readings = [*series(water, 0, 2, lambda h: 40.0 if h < 1 else 40.002), water(30, 40.005)]

    [alert] = feed(monitor(MeterKind.WATER), readings)

    assert alert.alert_type is NO_WATER and alert.at == at(30) and alert.onset == at(1)
