"""Real meter timing (daily NB-IoT batches, redelivery) and planned absences."""

from __future__ import annotations

import dataclasses
from datetime import date

from tests.detectors.conftest import (
    GAS,
    WATER,
    at,
    changes,
    cleared,
    household,
    live,
    local,
    monitor,
    quiet_from,
    raised,
    routine,
)

from carewatch.domain import AlertType, Detection, Reading, Tick
from detectors.config import AwayWindow, MeterProfile
from detectors.household import HouseholdMonitor

MORNING, UNUSUAL = AlertType.MORNING_ACTIVITY_MISSING, AlertType.UNUSUAL_QUIET
NO_ACTIVITY, NO_GAS, NO_WATER = AlertType.NO_ACTIVITY_24H, AlertType.NO_GAS_24H, AlertType.NO_WATER_24H
DAY = 24.0
UPLOAD_H = 7 + 20 / 60  # 03:00 local: T0 is 19:40 in Shanghai


def nb_iot_household() -> HouseholdMonitor:
    """Hourly values, uploaded once a day."""
    profile = household()
    meters = tuple(MeterProfile(m.meter_id, m.kind, 3600.0, 86400.0) for m in profile.meters)
    return HouseholdMonitor(dataclasses.replace(profile, meters=meters))


def daily_batches(target: HouseholdMonitor, readings: list[Reading]) -> list[tuple[str, list[Detection]]]:
    """Deliver the readings once a day at 03:00, a tick right after each delivery."""
    out = []
    day = 0
    while readings:
        upload = at(UPLOAD_H + DAY * day)
        batch = [r for r in readings if r.at <= upload]
        readings = [r for r in readings if r.at > upload]
        found: list[Detection] = []
        for reading in batch:
            found += target.observe(reading).detections
        found += target.tick(Tick(upload))
        out.append((local(upload), found))
        day += 1
    return out


def test_a_daily_batch_is_judged_once_when_it_arrives_and_the_next_batch_clears_it() -> None:
    incident = quiet_from(20 * DAY + 2, 22 * DAY + 2)  # from 21:40 on day 20 to 21:40 on day 22
    readings = routine(24, step_h=1.0, quiet=incident)

    deliveries = daily_batches(nb_iot_household(), readings)

    seen = [(when, changes(found)) for when, found in deliveries if found]
    assert seen == [
        ("27 03:00", [raised(NO_ACTIVITY)]),  # 24 h without use, seen at once with the whole day
        ("29 03:00", [cleared(NO_ACTIVITY)]),  # the batch with the next morning shows use again
    ]


def test_a_late_morning_inside_one_batch_raises_nothing_where_live_readings_raise_and_clear() -> None:
    late_morning = quiet_from(20 * DAY + 2, 20 * DAY + 16.5)  # nothing from 21:40 until 12:10 the next day
    readings = routine(22, step_h=1.0, quiet=late_morning)

    batched = [d for _, found in daily_batches(nb_iot_household(), readings) for d in found]
    hourly_live = live(nb_iot_household(), readings)

    assert batched == []
    assert changes(hourly_live) == [raised(MORNING), cleared(MORNING)]


def test_a_redelivered_batch_is_taken_as_duplicates_and_raises_nothing_again() -> None:
    target = nb_iot_household()
    readings = routine(24, step_h=1.0, quiet=quiet_from(20 * DAY + 2))
    deliveries = daily_batches(target, readings)
    assert sum(1 for _, found in deliveries for d in found if d.transition.value == "raised") == 1

    again = [target.observe(r) for r in readings[-48:]]

    assert all(o.duplicate and not o.detections for o in again)
    assert target.tick(Tick(at(25 * DAY))) == ()


def test_batch_meters_are_not_called_silent_between_their_daily_uploads() -> None:
    deliveries = daily_batches(nb_iot_household(), routine(6, step_h=1.0))

    assert [d for _, found in deliveries for d in found] == []


def away(start_h: float, end_h: float) -> HouseholdMonitor:
    profile = household()
    return HouseholdMonitor(dataclasses.replace(profile, away=(AwayWindow(at(start_h), at(end_h)),)))


AWAY_FROM, AWAY_UNTIL = 20 * DAY + 14, 23 * DAY + 22  # 09:40 on day 21 to 17:40 on day 24


def test_a_planned_absence_raises_no_inactivity_alert_and_life_after_the_return_none_either() -> None:
    readings = routine(28, quiet=quiet_from(AWAY_FROM, AWAY_UNTIL))

    assert live(away(AWAY_FROM, AWAY_UNTIL), readings) == []
    assert NO_ACTIVITY in {d.alert_type for d in live(monitor(), readings)}  # without the absence: an alert


def test_no_use_after_the_planned_return_is_counted_from_the_return() -> None:
    readings = routine(28, quiet=quiet_from(AWAY_FROM))

    detections = live(away(AWAY_FROM, AWAY_UNTIL), readings)

    first = detections[0]
    assert first.alert_type in (MORNING, UNUSUAL) and first.at > at(AWAY_UNTIL)
    assert "the planned return at 17:40" in first.explanation.en and "计划返回时间17:40" in first.explanation.zh
    assert first.facts["counted_from"] == "planned_return"
    no_activity = next(d for d in detections if d.alert_type is NO_ACTIVITY)
    assert no_activity.at >= at(AWAY_UNTIL + 24)


def test_a_burner_left_on_while_away_still_raises_gas_continuous() -> None:
    readings = routine(22, quiet=quiet_from(AWAY_FROM, AWAY_UNTIL))
    burner = [
        dataclasses.replace(r, register_m3=round(r.register_m3 + 0.3 * max(0.0, min(hours, 6.0)), 4))
        for r in readings
        if r.meter_id == GAS
        for hours in [(r.at - at(AWAY_FROM + 24)).total_seconds() / 3600]
    ]
    merged = sorted([r for r in readings if r.meter_id == WATER] + burner, key=lambda r: (r.at, r.meter_id))

    detections = live(away(AWAY_FROM, AWAY_UNTIL), merged)

    assert raised(AlertType.GAS_CONTINUOUS) in changes(detections)
    assert not {d.alert_type for d in detections} & {NO_ACTIVITY, NO_GAS, NO_WATER, MORNING, UNUSUAL}


def test_days_of_a_planned_absence_are_not_learned() -> None:
    target = away(AWAY_FROM, AWAY_UNTIL)
    live(target, routine(28, quiet=quiet_from(AWAY_FROM, AWAY_UNTIL)))

    learned = {date.fromordinal(d).strftime("%m-%d") for d in target._learners["quiet"]._dates}
    assert not learned & {"01-26", "01-27", "01-28", "01-29"}
    assert {"01-25", "01-30"} <= learned


def test_an_away_window_entered_later_takes_effect_through_the_profile() -> None:
    target = monitor()
    readings = routine(28, quiet=quiet_from(AWAY_FROM, AWAY_UNTIL))
    before = [r for r in readings if r.at < at(AWAY_FROM - 2)]
    live(target, before)

    target.profile = dataclasses.replace(target.profile, away=(AwayWindow(at(AWAY_FROM), at(AWAY_UNTIL)),))

    assert live(target, readings[len(before):]) == []
