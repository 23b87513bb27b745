"""Keeping the register honest: duplicates, rollbacks, replaced meters, unknown meters."""

from __future__ import annotations

from tests.detectors.conftest import (
    HOUSEHOLD,
    at,
    bursts,
    changes,
    cleared,
    constant,
    feed,
    gas,
    monitor,
    raised,
    series,
)

from carewatch.domain import Audience, AlertType, MeterKind, Reading, RejectReason, Severity

FAULT = AlertType.METER_REGISTER_FAULT


def test_a_register_going_backwards_is_rejected_and_raises_one_register_fault() -> None:
    target = monitor(MeterKind.GAS)
    feed(target, [gas(0, 100.5), gas(0.25, 100.6)])

    first = target.observe(gas(0.5, 100.4))
    second = target.observe(gas(0.75, 12.0))

    assert first.rejection is RejectReason.REGISTER_WENT_BACKWARDS
    assert "100.4 m³" in first.detail and "below 100.6 m³" in first.detail
    [fault] = first.detections
    assert changes([fault]) == [raised(FAULT)]
    assert fault.onset == at(0.5) and fault.severity is Severity.WARNING
    assert fault.alert_type.audience is Audience.TECHNICIAN
    assert fault.explanation.en == (
        "Meter gas-0007 register went backwards at 20:10: 100.400 m³ is below the 100.600 m³ read "
        "before it; reading rejected — check the meter or whether it was replaced."
    )
    assert second.rejection is RejectReason.REGISTER_WENT_BACKWARDS and second.detections == ()


def test_a_good_reading_after_a_register_fault_clears_it() -> None:
    target = monitor(MeterKind.GAS)
    feed(target, [gas(0, 100.5), gas(0.25, 100.6)])
    target.observe(gas(0.5, 0.0))

    good = target.observe(gas(0.75, 100.62))

    assert good.rejection is None
    assert changes(good.detections) == [cleared(FAULT)]
    assert good.detections[0].explanation.en == "Meter gas-0007 readings are consistent again (20:25)."


def test_a_late_reading_above_a_later_reading_is_rejected() -> None:
    target = monitor(MeterKind.GAS)
    feed(target, [gas(0, 1.0), gas(1, 1.2)])

    late = target.observe(gas(0.5, 1.3))

    assert late.rejection is RejectReason.REGISTER_WENT_BACKWARDS
    assert "above 1.2 m³ read later" in late.detail
    assert "above the 1.200 m³ read after it" in late.detections[0].explanation.en


def test_three_agreeing_readings_below_the_old_register_mean_a_new_meter() -> None:
    target = monitor(MeterKind.GAS)
    feed(target, series(gas, 0, 2, bursts(100.0, 0.05, every_h=0.5)))

    first, second, third = (target.observe(gas(h, v)) for h, v in [(2.25, 0.01), (2.5, 0.02), (2.75, 0.03)])

    assert first.rejection is second.rejection is RejectReason.REGISTER_WENT_BACKWARDS
    assert "2 more agreeing reading(s)" in first.detail
    assert changes(first.detections) == [raised(FAULT)] and second.detections == ()
    assert third.rejection is None and "reset or replaced" in third.detail
    assert changes(third.detections) == [cleared(FAULT)]
    assert third.detections[0].explanation.en == (
        "Meter gas-0007 was reset or replaced: counting restarts from 0.010 m³ (22:25)."
    )
    assert target.observe(gas(3, 0.04)).detections == ()
    old_meter = target.observe(gas(1.5, 100.15))  # a late reading of the old meter
    assert old_meter.rejection is None and old_meter.detections == ()
    assert "older than the kept history" in old_meter.detail


def test_a_lone_glitch_below_the_register_is_not_taken_as_a_new_meter() -> None:
    target = monitor(MeterKind.GAS)
    feed(target, [gas(0, 100.5), gas(0.25, 100.6)])

    target.observe(gas(0.5, 0.01))
    target.observe(gas(0.75, 100.7))  # a good reading in between: 0.01 was a glitch
    target.observe(gas(1.0, 0.02))

    third_low = target.observe(gas(1.25, 0.03))

    assert third_low.rejection is RejectReason.REGISTER_WENT_BACKWARDS
    assert "below 100.7 m³" in third_low.detail


def test_duplicate_readings_are_idempotent() -> None:
    target = monitor(MeterKind.GAS)
    readings = series(gas, 0, 25, constant(5.0))
    assert changes(feed(target, readings)) == [raised(AlertType.NO_GAS_24H)]

    again = [target.observe(r) for r in readings[-8:]]

    assert all(o.duplicate and o.rejection is None and o.detections == () for o in again)


def test_the_same_instant_with_another_register_is_a_conflicting_duplicate() -> None:
    target = monitor(MeterKind.GAS)
    target.observe(gas(0, 5.0))

    conflict = target.observe(gas(0, 5.25))

    assert conflict.rejection is RejectReason.CONFLICTING_DUPLICATE
    assert "5.0 m³" in conflict.detail and "5.25 m³" in conflict.detail
    assert conflict.detections == ()
    assert target.observe(gas(0, 5.0)).duplicate  # the first value stands


def test_a_meter_not_registered_to_the_household_is_rejected_as_unknown() -> None:
    target = monitor(MeterKind.GAS)

    stranger = target.observe(Reading(HOUSEHOLD, "gas-9999", MeterKind.GAS, at(0), 1.0))
    wrong_kind = target.observe(Reading(HOUSEHOLD, "gas-0007", MeterKind.WATER, at(0), 1.0))

    assert stranger.rejection is wrong_kind.rejection is RejectReason.UNKNOWN_METER
    assert "gas-9999" in stranger.detail and "gas-0007" in stranger.detail
    assert "registered as gas" in wrong_kind.detail


def test_a_reading_older_than_the_kept_history_is_accepted_but_changes_nothing() -> None:
    target = monitor(MeterKind.GAS)
    feed(target, series(gas, 0, 30, bursts(8.0, 0.05, every_h=2)))

    late = target.observe(gas(1, 8.0))

    assert late.rejection is None and late.detections == () and not late.duplicate
    assert "too late to change any verdict" in late.detail


def test_a_register_that_is_not_a_number_never_enters_the_history() -> None:
    target = monitor(MeterKind.GAS)
    target.observe(gas(0, 5.0))

    bad = target.observe(gas(0.25, float("nan")))

    assert bad.rejection is RejectReason.INVALID_VALUE
    assert target.observe(gas(0.5, 5.0)).rejection is None
