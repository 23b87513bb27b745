"""The state stays bounded: a Faust table holds one monitor per household, 300,000 of them."""

from __future__ import annotations

import pickle

from detectors.history import PRUNE_AFTER

from tests.detectors.conftest import bursts, constant, feed, gas, interleave, live, monitor, routine, series, water


def _pickled_size_after(days: int, idle: bool) -> int:
    hours = 24 * days
    gas_register = constant(8.0) if idle else bursts(8.0, 0.05, every_h=5)
    water_register = constant(40.0) if idle else bursts(40.0, 0.03, every_h=3)
    target = monitor(check_in=True)  # as deployed: the soft tier on
    feed(target, interleave(series(gas, 0, hours, gas_register), series(water, 0, hours, water_register)))
    return len(pickle.dumps(target))


def test_the_rule_state_does_not_grow_with_the_days_watched() -> None:
    for idle in (False, True):
        two_days, ten_days = _pickled_size_after(2, idle), _pickled_size_after(10, idle)
        # Ten days add only what the learned detectors remember of the eight more days:
        # a day's quarter-hours (12 bytes), its litres, its night.
        assert ten_days <= two_days + 8 * 40, (idle, two_days, ten_days)


def test_the_learned_state_stops_growing_once_its_window_of_days_is_full() -> None:
    sizes = []
    for days in (38, 45):
        target = monitor(check_in=True)  # as deployed: the soft tier on
        live(target, routine(days))
        sizes.append(len(pickle.dumps(target)))
    assert sizes[1] <= sizes[0] + 16, sizes


def test_an_idle_household_keeps_one_window_of_readings_not_all_its_idle_days() -> None:
    # Ten idle days of 15-minute readings: about a window of readings per meter
    # (97 + the one that says since when it is idle), not 961.
    target = monitor(check_in=True)  # as deployed: the soft tier on
    feed(target, interleave(series(gas, 0, 240, constant(8.0)), series(water, 0, 240, constant(40.0))))

    assert all(98 <= len(h) < 98 + PRUNE_AFTER for h in target._histories.values())
    assert len(pickle.dumps(target)) < 2048


def test_a_month_of_a_busy_household_pickles_in_under_2_kb() -> None:
    target = monitor(check_in=True)  # as deployed: the soft tier on
    live(target, routine(31))

    assert target._learners["quiet"].days_learned == 28
    assert len(pickle.dumps(target)) < 2048


def test_a_month_of_a_busy_household_with_battery_signal_and_status_on_every_reading_still_pickles_in_under_2_kb() -> None:
    """Meter health keeps one signal byte an hour per meter for three days, not a value per reading."""
    import dataclasses

    target = monitor(check_in=True)  # as deployed: the soft tier on
    readings = [dataclasses.replace(r, battery_pct=60.0, signal_dbm=-95.0 - n % 9, status="OK") for n, r in enumerate(routine(31))]
    live(target, readings)

    assert target.meter_health()[0].signal_median_dbm is not None
    assert len(pickle.dumps(target)) < 2048
