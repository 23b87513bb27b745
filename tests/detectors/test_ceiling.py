"""Daily ceiling: far more gas or water in a day than a person living alone uses."""

from __future__ import annotations

from tests.detectors.conftest import at, changes, cleared, feed, gas, monitor, raised, water

from carewatch.domain import AlertType, MeterKind, Severity

HIGH_WATER = AlertType.HIGH_WATER_USE


def test_high_water_use_is_raised_at_the_crossing_reading_and_cleared_when_back_under() -> None:
    # Readings every 2 h (longer than the flow gap, so this is not continuous flow).
    readings = [water(0, 50.0), water(2, 50.8), water(4, 51.6)]
    readings += [water(hour, 51.6) for hour in range(6, 27, 2)]

    detections = feed(monitor(MeterKind.WATER), readings)

    assert changes(detections) == [raised(HIGH_WATER), cleared(HIGH_WATER)]
    high, back = detections
    assert high.onset == at(4) and high.at == at(4) and back.at == at(26)
    assert high.severity is Severity.WARNING
    assert high.explanation.en == "High water use: at least 1.6 m³ in the last 24 h by 23:40 (ceiling 1.5 m³)."
    assert back.explanation.en == "Water use back under 1.5 m³ in the last 24 h at 21:40 (0.8 m³)."
    assert high.facts["threshold_m3"] == 1.5


def test_use_exactly_at_the_ceiling_is_not_high() -> None:
    readings = [water(0, 50.0), water(2, 50.75), water(4, 51.5)]

    assert feed(monitor(MeterKind.WATER), readings) == []


def test_the_ceiling_counts_only_use_seen_inside_the_window() -> None:
    # 7 m³ between two readings 30 h apart: no 24 h window is proven over 6 m³.
    assert feed(monitor(MeterKind.GAS), [gas(0, 10.0), gas(30, 17.0)]) == []
