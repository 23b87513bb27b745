"""The learned early warning: no use by the household's usual morning, or quiet for longer than it ever is."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from tests.detectors.conftest import (
    SHANGHAI,
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
    water,
)

from carewatch.catalogue import text
from carewatch.domain import AlertType, MeterKind, Severity
from detectors.config import MeterProfile
from detectors.household import HouseholdMonitor

MORNING, UNUSUAL = AlertType.MORNING_ACTIVITY_MISSING, AlertType.UNUSUAL_QUIET
NO_ACTIVITY, NO_GAS = AlertType.NO_ACTIVITY_24H, AlertType.NO_GAS_24H
DAY = 24.0
FROM_DAY_20_EVENING = 20 * DAY + 2  # 21:40 local on day 20: after the evening's last use


def test_no_use_by_the_usual_morning_raises_morning_activity_missing_long_before_the_24_h_rule() -> None:
    target = monitor()

    detections = live(target, routine(22, quiet=quiet_from(FROM_DAY_20_EVENING)))

    # The gas, last used at supper, is a day quiet first: the seed rule says so, whatever was learned.
    assert changes(detections) == [
        raised(MORNING), raised(NO_GAS), raised(NO_ACTIVITY), cleared(NO_GAS), cleared(MORNING)
    ]
    morning, _, critical, _, folded = detections
    assert local(morning.onset) == "25 20:55" and local(morning.at) == "26 09:10"  # usually up by 07:15
    assert morning.severity is Severity.WARNING and morning.meter_ids == ("gas-0007", "water-0007")
    assert critical.at - morning.at > timedelta(hours=11)
    assert "into \u201cno gas or water used in 24 hours\u201d" in folded.explanation.en
    assert folded.facts["escalated_into"] == "no_activity_24h"


def test_the_learned_alert_says_what_was_expected_and_what_was_seen_in_both_languages() -> None:
    [morning, *_] = live(monitor(), routine(22, quiet=quiet_from(FROM_DAY_20_EVENING)))

    assert morning.explanation.en == (
        "No gas or water used since 20:55 yesterday (12.1 h). On 19 of the last 19 days the first use "
        "after 20:55 came by 07:10 (latest 07:10); today none by 09:00."
    )
    assert morning.explanation.zh == (
        "自昨天20:55起未用气也未用水（12.1小时）。过去19天中有19天，20:55之后的第一次用水用气在07:10之前"
        "（最晚07:10）；今天到09:00仍未使用。"
    )
    assert morning.facts["days_learned"] == 19 and morning.facts["hours"] == 12.08


def test_use_seen_again_clears_the_learned_alert_before_the_24_h_rule_has_a_say() -> None:
    target = monitor()
    # Nothing from the evening of day 20 until 11:40 local on day 21 (a late, frail morning).
    detections = live(target, routine(22, quiet=quiet_from(FROM_DAY_20_EVENING, 21 * DAY - 8)))

    assert changes(detections) == [raised(MORNING), cleared(MORNING)]
    back = detections[1]
    assert local(back.at) == "26 12:10"
    assert back.explanation.en == "Gas or water used again by 12:10 (nothing used since 20:55 yesterday before)."


def test_a_daytime_collapse_raises_unusual_quiet_within_hours() -> None:
    collapse_h = 20 * DAY + 16.5  # 12:10 local on day 21, after lunch was cooked

    detections = live(monitor(), routine(22, quiet=quiet_from(collapse_h)))

    first = detections[0]
    assert first.alert_type is UNUSUAL
    assert timedelta(hours=2) < first.at - at(collapse_h) < timedelta(hours=6)
    assert "On 19 of the last 19 days use came within" in first.explanation.en


def test_the_learned_detectors_stay_silent_during_the_warm_up_while_the_24_h_rule_protects() -> None:
    detections = live(monitor(), routine(12, quiet=quiet_from(10 * DAY + 2)))

    assert changes(detections) == [raised(NO_GAS), raised(NO_ACTIVITY), cleared(NO_GAS)]


def test_an_incident_is_not_learned_the_next_one_is_caught_as_early() -> None:
    first_incident = quiet_from(FROM_DAY_20_EVENING, 23 * DAY)  # three days without use, then recovery
    second_incident = quiet_from(FROM_DAY_20_EVENING + 7 * DAY)
    target = monitor()

    detections = live(target, routine(29, quiet=lambda h: first_incident(h) or second_incident(h)))

    mornings = [d for d in detections if d.alert_type is MORNING and d.transition.value == "raised"]
    assert [local(d.at)[3:] for d in mornings] == ["09:10", "09:10"]  # the same time of day, a week apart
    learned = {date.fromordinal(d).strftime("%m-%d") for d in target._learners["quiet"]._dates}
    assert not learned & {"01-25", "01-26", "01-27", "01-28"}  # the incident, from its evening to the recovery
    assert {"01-24", "01-29"} <= learned


def test_a_household_with_a_water_meter_only_gets_the_early_warning_too() -> None:
    target = monitor(MeterKind.WATER)

    detections = live(target, routine(22, kinds=(MeterKind.WATER,), quiet=quiet_from(FROM_DAY_20_EVENING)))

    assert changes(detections)[0] == raised(MORNING)
    assert detections[0].explanation.en.startswith("No water used since 20:55 yesterday")


def test_turning_learning_off_leaves_the_seed_rule_alone() -> None:
    profile = household()
    target = HouseholdMonitor(dataclasses.replace(profile, rules=dataclasses.replace(profile.rules, learned=False)))

    detections = live(target, routine(22, quiet=quiet_from(FROM_DAY_20_EVENING)))

    assert changes(detections) == [raised(NO_GAS), raised(NO_ACTIVITY), cleared(NO_GAS)]
    assert target._learners == {}


def test_a_changed_profile_keeps_what_was_learned_and_applies_new_settings() -> None:
    target = monitor()
    live(target, routine(20))
    learned = target._learners["quiet"].days_learned

    profile = household()
    target.profile = dataclasses.replace(profile, rules=dataclasses.replace(profile.rules, quiet_grace_h=3.0))

    assert target._learners["quiet"].days_learned == learned and target._learners["quiet"].grace_h == 3.0


def test_a_second_water_meter_counts_as_evidence_of_life() -> None:
    profile = household(MeterKind.WATER)
    profile = dataclasses.replace(profile, meters=(*profile.meters, MeterProfile("water-hot", MeterKind.WATER)))
    target = HouseholdMonitor(profile)
    readings = routine(22, kinds=(MeterKind.WATER,), quiet=quiet_from(FROM_DAY_20_EVENING))
    hot = [water(r.at.astimezone(SHANGHAI).timestamp() / 3600 - at(0).timestamp() / 3600, 3.0, "water-hot") for r in readings]
    merged = sorted(readings + hot, key=lambda r: (r.at, r.meter_id))

    detections = live(target, merged)

    assert changes(detections)[0] == raised(MORNING)


NO_WATER = AlertType.NO_WATER_24H
SINGLE = {MeterKind.GAS: NO_GAS, MeterKind.WATER: NO_WATER}


@pytest.mark.parametrize("kind", [MeterKind.GAS, MeterKind.WATER])
def test_seed_rule_fires_while_learned_warning_is_open_in_one_meter_home(kind: MeterKind) -> None:
    target = monitor(kind)

    detections = live(target, routine(23, kinds=(kind,), quiet=quiet_from(FROM_DAY_20_EVENING)))

    assert changes(detections) == [raised(MORNING), raised(SINGLE[kind]), cleared(MORNING)]
    _, critical, folded = detections
    assert critical.severity is Severity.CRITICAL and critical.at - critical.onset == timedelta(hours=24)
    assert folded.at == critical.at and folded.facts["escalated_into"] == SINGLE[kind].value
    assert f"into \u201c{text(f'alert_type.{SINGLE[kind]}', 'en').lower()}\u201d" in folded.explanation.en


def test_use_resuming_after_a_long_quiet_raises_nothing_new_in_a_one_meter_home() -> None:
    # Two days without water, then a hand wash (2 L) and little more: under the seed rule's 10 L a day.
    back_h = FROM_DAY_20_EVENING + 2 * DAY
    readings = routine(
        24, kinds=(MeterKind.WATER,), quiet=quiet_from(FROM_DAY_20_EVENING, back_h),
        amount=lambda hours: 0.2 if hours >= back_h else 1.0,
    )

    detections = live(monitor(MeterKind.WATER), readings)

    assert changes(detections) == [raised(MORNING), raised(NO_WATER), cleared(MORNING), cleared(NO_WATER)]
    assert [changes([d]) for d in detections if d.at >= at(back_h)] == [[cleared(NO_WATER)]]


def test_a_learned_warning_is_not_raised_under_the_seed_rules_critical_alert_in_a_one_meter_home() -> None:
    # Learned limits of at least 30 h: the seed rule's 24 h come first, and speak for the incident.
    target = monitor(MeterKind.WATER, quiet_floor_h=30.0)

    detections = live(target, routine(23, kinds=(MeterKind.WATER,), quiet=quiet_from(FROM_DAY_20_EVENING)))

    assert changes(detections) == [raised(NO_WATER)]


def test_switching_learning_off_ends_an_open_learned_warning_at_the_next_tick() -> None:
    target = monitor(MeterKind.WATER)
    readings = routine(22, kinds=(MeterKind.WATER,), quiet=quiet_from(FROM_DAY_20_EVENING))
    switched = at(FROM_DAY_20_EVENING + 14)
    assert changes(live(target, [r for r in readings if r.at <= switched])) == [raised(MORNING)]

    target.profile = household(MeterKind.WATER, learned=False)  # the registry: "rules": {"learned": false}
    detections = live(target, [r for r in readings if r.at > switched])

    assert changes(detections) == [cleared(MORNING), raised(NO_WATER)]
    assert detections[0].facts == {"learning": "off"}
    assert detections[0].explanation.en.startswith("Learning switched off for this household")
