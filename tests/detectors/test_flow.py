"""Continuous flow: gas or water running for hours is a safety alert."""

from __future__ import annotations

from tests.detectors.conftest import at, changes, cleared, constant, feed, gas, monitor, raised, series, water

from carewatch.domain import AlertType, MeterKind, Severity

GAS_CONTINUOUS, WATER_CONTINUOUS = AlertType.GAS_CONTINUOUS, AlertType.WATER_CONTINUOUS


def flowing(base: float, per_hour: float, from_h: float = 0.0, until_h: float = float("inf")):
    """A register rising steadily between two times, still before and after."""
    return lambda hours: base + per_hour * (min(hours, until_h) - from_h if hours > from_h else 0.0)


def test_gas_flowing_more_than_3_h_raises_gas_continuous_from_the_start_of_the_run() -> None:
    readings = series(gas, 0, 5, flowing(2.0, 0.12, from_h=1.0))

    detections = feed(monitor(MeterKind.GAS), readings)

    assert changes(detections) == [raised(GAS_CONTINUOUS)]
    [alert] = detections
    assert alert.onset == at(1) and alert.at == at(4.25)
    assert alert.severity is Severity.CRITICAL
    assert alert.explanation.en == (
        "Gas has been flowing continuously since 20:40 (3.2 h, 0.39 m³) — check whether a stove was left on."
    )
    assert alert.explanation.zh == "燃气自20:40起持续流动（3.2小时，0.39立方米）——请确认灶具是否未关。"
    assert alert.facts["hours"] == 3.25 and alert.facts["used_m3"] == 0.39


def test_gas_flowing_exactly_3_h_does_not_raise() -> None:
    assert feed(monitor(MeterKind.GAS), series(gas, 0, 3, flowing(2.0, 0.12))) == []


def test_a_trickle_below_the_minimum_flow_is_not_continuous() -> None:
    assert feed(monitor(MeterKind.GAS), series(gas, 0, 6, flowing(2.0, 0.019))) == []


def test_water_running_more_than_2_h_raises_water_continuous() -> None:
    detections = feed(monitor(MeterKind.WATER), series(water, 0, 2.5, flowing(40.0, 0.01)))

    assert changes(detections) == [raised(WATER_CONTINUOUS)]
    assert detections[0].at == at(2.25) and detections[0].onset == at(0)


def test_a_gap_longer_than_an_hour_breaks_the_run() -> None:
    register = flowing(2.0, 0.12)
    before_gap = series(gas, 0, 2, register)
    after_gap = series(gas, 3.5, 5.5, register)  # nothing observed from 2 h to 3.5 h

    assert feed(monitor(MeterKind.GAS), before_gap + after_gap) == []
    assert changes(feed(monitor(MeterKind.GAS), series(gas, 0, 5.5, register))) == [raised(GAS_CONTINUOUS)]


def test_continuous_flow_clears_when_the_flow_stops() -> None:
    readings = series(gas, 0, 4.5, flowing(2.0, 0.12, until_h=4.0))

    detections = feed(monitor(MeterKind.GAS), readings)

    assert changes(detections) == [raised(GAS_CONTINUOUS), cleared(GAS_CONTINUOUS)]
    stop = detections[1]
    assert stop.at == at(4.25) and stop.onset == detections[0].onset
    assert stop.explanation.en == "Gas is no longer flowing continuously (as of 23:55)."


def test_a_gap_after_the_run_clears_it_saying_the_flow_cannot_be_confirmed() -> None:
    register = flowing(2.0, 0.12)
    readings = [*series(gas, 0, 3.5, register), gas(5, register(5))]

    detections = feed(monitor(MeterKind.GAS), readings)

    assert changes(detections) == [raised(GAS_CONTINUOUS), cleared(GAS_CONTINUOUS)]
    assert detections[1].explanation.en == (
        "Gas flow can no longer be confirmed as continuous: no reading between 23:10 on 01-05 and 00:40."
    )
    assert detections[1].facts["gap_h"] == 1.5


def test_a_still_register_is_never_continuous_flow() -> None:
    assert feed(monitor(MeterKind.GAS), series(gas, 0, 12, constant(2.0))) == []
