"""Replays and late data: the same readings give the same alerts, whatever their order."""

from __future__ import annotations

import dataclasses
import pickle
import random
from datetime import timedelta
from pathlib import Path

import pytest
from tests.detectors.conftest import (
    T0,
    at,
    bursts,
    changes,
    cleared,
    eventful_days,
    feed,
    gas,
    household,
    live,
    monitor,
    raised,
    routine,
    series,
)

from carewatch.domain import AlertType, Detection, MeterKind, Tick


def _ids(detections: list[Detection]) -> list[tuple[str, str]]:
    return [(d.alert_id, d.transition.value) for d in detections]


def test_the_eventful_days_raise_and_clear_what_a_duty_officer_expects() -> None:
    detections = feed(monitor(), eventful_days())

    assert changes(detections) == [
        raised(AlertType.NO_GAS_24H),
        raised(AlertType.NO_ACTIVITY_24H),
        cleared(AlertType.NO_GAS_24H),
        cleared(AlertType.NO_ACTIVITY_24H),
        raised(AlertType.GAS_CONTINUOUS),
        cleared(AlertType.GAS_CONTINUOUS),
        raised(AlertType.HIGH_WATER_USE),
    ]


def test_out_of_order_readings_give_the_same_alerts_as_in_order() -> None:
    readings = eventful_days()
    shuffled = []
    rng = random.Random(42)
    for start in range(0, len(readings), 6):  # up to 45 minutes late
        block = readings[start : start + 6]
        rng.shuffle(block)
        shuffled += block
    assert shuffled != readings

    in_order = feed(monitor(), readings)
    out_of_order = feed(monitor(), shuffled)

    assert _ids(out_of_order) == _ids(in_order)


def test_the_same_readings_replayed_in_a_fresh_monitor_give_the_same_detections() -> None:
    first = feed(monitor(), eventful_days())
    second = feed(monitor(), eventful_days())

    assert second == first  # ids, times, words and facts alike
    assert len({d.alert_id for d in first}) == 4


def test_every_detection_explains_itself_in_both_languages() -> None:
    target = monitor()
    detections: list[Detection] = []
    for reading in eventful_days():
        detections += target.observe(reading).detections
        if reading.at.minute == T0.minute and reading.kind == "water":  # hourly ticks
            detections += target.tick(Tick(reading.at))

    assert set(changes(detections)) >= {raised(AlertType.METER_SILENT), cleared(AlertType.METER_SILENT)}
    for d in detections:
        assert d.explanation.en.endswith((".", "problem.")) and "nan" not in d.explanation.en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in d.explanation.zh)
        assert d.facts is not None


def test_a_changed_profile_takes_effect_after_unpickling() -> None:
    boiler = bursts(8.0, 0.015, every_h=8)  # 15 L every 8 h with nobody up: under a tenth of the new bar
    target = monitor(MeterKind.GAS)
    feed(target, series(gas, 0, 12, boiler))
    restored = pickle.loads(pickle.dumps(target))

    restored.profile = household(MeterKind.GAS, gas_min_use_m3=0.2)  # the registry raised the bar
    detections = feed(restored, series(gas, 12.25, 30, boiler))

    assert changes(detections) == [raised(AlertType.NO_GAS_24H)]
    assert detections[0].facts["threshold_m3"] == 0.2


def test_a_monitor_refuses_the_profile_of_another_household() -> None:
    target = monitor(MeterKind.GAS)
    other = dataclasses.replace(household(MeterKind.GAS), household_id="hh-0008")

    with pytest.raises(ValueError, match="belongs to household hh-0007"):
        target.profile = other


def test_a_monitor_pickled_before_learning_carries_on_and_starts_learning() -> None:
    # Saved by the detectors of the first release: a household with gas unused for 30 h.
    with open(Path(__file__).parent / "data" / "monitor_v1.pickle", "rb") as stored:
        restored = pickle.load(stored)

    assert restored.raised() == {AlertType.NO_GAS_24H: T0}
    assert restored.profile.rules.learned and restored.profile.away == ()
    detections = feed(restored, [gas(30.25, 8.05), gas(30.5, 8.05)])
    assert changes(detections) == [cleared(AlertType.NO_GAS_24H)]
    assert set(restored._learners) == {"quiet", "night", "volume"}
    assert pickle.loads(pickle.dumps(restored)).raised() == {}


def test_a_monitor_pickled_by_the_previous_release_carries_on_under_the_seed_rule_that_always_fires() -> None:
    # Saved by the release before (state version 2): a water-only household 18 h into a quiet spell,
    # its learned warning open — which then held the seed rule back for as long as it stayed open.
    with open(Path(__file__).parent / "data" / "monitor_v2.pickle", "rb") as stored:
        restored = pickle.load(stored)
    assert set(restored.raised()) == {AlertType.MORNING_ACTIVITY_MISSING}
    spell_h = 20 * 24 + 2
    rest = routine(23, kinds=(MeterKind.WATER,), quiet=lambda hours: hours >= spell_h)

    detections = live(restored, [r for r in rest if r.at > at(spell_h + 18)])

    assert changes(detections) == [raised(AlertType.NO_WATER_24H), cleared(AlertType.MORNING_ACTIVITY_MISSING)]
    assert detections[0].at - detections[0].onset == timedelta(hours=24)
