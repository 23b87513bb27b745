"""Learned habits beyond the morning: restless nights, a day of far too much use, a decline over days."""

from __future__ import annotations

import dataclasses

from tests.detectors.conftest import WATER, at, changes, cleared, live, local, monitor, raised, routine

from carewatch.domain import AlertType, Reading, Severity

NIGHT, SPIKE, DECLINE = AlertType.UNUSUAL_NIGHT_USE, AlertType.UNUSUAL_SPIKE, AlertType.SUSTAINED_DECLINE
DAY = 24.0


def with_extra_water(readings: list[Reading], uses_h: list[float], litres: float) -> list[Reading]:
    """The same readings with `litres` of water more at each of those hours (from T0)."""
    out = []
    for reading in readings:
        if reading.meter_id == WATER:
            hours = (reading.at - at(0)).total_seconds() / 3600
            extra = litres / 1000 * sum(1 for u in uses_h if u <= hours)
            reading = dataclasses.replace(reading, register_m3=round(reading.register_m3 + extra, 4))
        out.append(reading)
    return out


def test_a_restless_night_is_told_the_next_morning_and_cleared_after_a_usual_night() -> None:
    nights = [20 * DAY + 5.5 + h for h in range(0, 4)] + [21 * DAY + 5.5 + h for h in range(0, 4)]  # 01:10-04:10
    readings = with_extra_water(routine(24), nights, 6.0)

    detections = [d for d in live(monitor(), readings) if d.alert_type is NIGHT]

    assert changes(detections) == [raised(NIGHT), cleared(NIGHT)]
    night, calm = detections
    assert local(night.at) == "26 07:40" and local(calm.at) == "28 07:40"  # an hour after its sleeping hours
    assert night.severity is Severity.WARNING
    assert night.explanation.en == (
        "Unusual use at night: 4 separate times between 21:30 and 06:30; on the nights of the last 19 days "
        "at most 0 — the elder may be unwell or restless, worth a call."
    )
    assert "夜间用水用气异常" in night.explanation.zh
    assert night.facts["spells"] == 4 and night.facts["most_spells"] == 0


def test_a_day_of_far_more_water_than_ever_is_told_that_day_and_cleared_the_next() -> None:
    washing = [20 * DAY + 18 + h for h in range(3)]  # 13:40-15:40: 150 litres each hour, no flow for hours
    readings = with_extra_water(routine(23), washing, 150.0)

    detections = [d for d in live(monitor(), readings) if d.alert_type is SPIKE]

    assert changes(detections) == [raised(SPIKE), cleared(SPIKE)]
    spike, over = detections
    assert local(spike.at) == "26 14:40" and local(over.at) == "27 00:10"
    assert spike.explanation.en == (
        "Unusual water use: 350 L today by 14:40; on the last 19 normal days at most 70 L a day "
        "— check whether a tap was left running or a pipe leaks."
    )
    assert spike.facts["kind"] == "water" and spike.facts["used_l"] == 350 and spike.facts["limit_l"] == 255


def test_a_week_of_far_less_use_raises_a_sustained_decline() -> None:
    def fading(hours: float) -> float:  # from day 22 on, each wash and meal a third of its size
        return 1 / 3 if hours > 22 * DAY else 1.0

    detections = live(monitor(), routine(34, amount=fading))

    assert changes(detections) == [raised(DECLINE)]  # and nothing else: the days go on as usual, only smaller
    decline = detections[0]
    assert local(decline.onset) == "26 00:00" and local(decline.at) == "03 00:10"  # the week judged, a day late
    assert decline.explanation.en == (
        "Water use has fallen for days: a median of 23 L a day over the last 7 days, against 70 L on this "
        "household's usual days (20 days learned) — check how the elder is doing."
    )
    assert "用水量持续下降" in decline.explanation.zh
    assert decline.meter_ids == (WATER,) and decline.facts["recent_l"] == 23
