"""Outcomes teach the detectors: "went out" widens the learned quiet at that clock time and weekday,
"meter fault" makes a silent meter's gap its own; nothing else is learned, and the seed rule is never taught."""

from __future__ import annotations

import pickle
from datetime import timedelta

from tests.detectors.conftest import HOUSEHOLD, SHANGHAI, WATER, at, changes, live, local, monitor, raised, routine, water

from carewatch.domain import AlertType, Detection, Lesson, MeterKind, OutcomeHeard, Tick
from detectors.household import HouseholdMonitor

DAY = 24.0
NINE = 13.33  # 09:00 local on day 0 of the routine (T0 is 19:40, Friday 5 January)
TUESDAY, NEXT_TUESDAY = 17 * DAY + NINE, 24 * DAY + NINE  # 23 and 30 January
UNUSUAL, MORNING = AlertType.UNUSUAL_QUIET, AlertType.MORNING_ACTIVITY_MISSING
NO_ACTIVITY = AlertType.NO_ACTIVITY_24H


def outing(*starts: float, hours: float = 8.0):  # type: ignore[no-untyped-def]
    return lambda u: any(s <= u < s + hours for s in starts)


def first_week(target: HouseholdMonitor, hours: float = 8.0) -> tuple[list[Detection], list]:
    readings = routine(27, quiet=outing(TUESDAY, NEXT_TUESDAY, hours=hours))
    cut = at(18 * DAY)
    return live(target, [r for r in readings if r.at < cut]), [r for r in readings if r.at >= cut]


def told(alert: Detection, ended: Detection | None, lesson: Lesson, later_h: float = 1.0) -> OutcomeHeard:
    end = ended.at if ended is not None else None
    return OutcomeHeard(
        HOUSEHOLD, alert.alert_id, alert.alert_type, lesson, alert.onset, end, (end or alert.at) + timedelta(hours=later_h),
        meter_ids=tuple(alert.facts.get("meters", "").split(",")) if alert.alert_type is AlertType.METER_SILENT else (),
    )


def quiet_alerts(detections: list[Detection]) -> list[Detection]:
    return [d for d in detections if d.alert_type in (UNUSUAL, MORNING)]


def test_without_an_outcome_the_same_outing_next_tuesday_is_alerted_again() -> None:
    target = monitor()
    first, rest = first_week(target)
    assert changes(quiet_alerts(first)) == [raised(UNUSUAL), (UNUSUAL, quiet_alerts(first)[1].transition)]
    second = quiet_alerts(live(target, rest))
    assert [local(d.at) for d in second if d.transition.value == "raised"] == ["30 13:40"]


def test_went_out_on_tuesday_widens_that_time_so_the_same_quiet_next_tuesday_raises_nothing() -> None:
    target = monitor()
    first, rest = first_week(target)
    alert, ended = quiet_alerts(first)
    assert local(alert.at) == "23 13:40" and local(ended.at) == "23 18:10"

    learned = target.learn_outcome(told(alert, ended, Lesson.WENT_OUT))

    assert learned is not None
    assert learned.en.startswith("Learned: the elder was out. No gas or water from about 08:40 to 18:10 on Tuesdays (9.5 h)")
    assert "每星期二08:40至18:10" in learned.zh
    assert quiet_alerts(live(target, rest)) == []
    assert pickle.loads(pickle.dumps(target)).learners["quiet"].outings_learned == 1  # kept in the table's state


def test_an_outing_learned_on_tuesday_does_not_excuse_the_same_quiet_on_wednesday() -> None:
    target = monitor()
    readings = routine(27, quiet=outing(TUESDAY, NEXT_TUESDAY + DAY))
    cut = at(18 * DAY)
    alert, ended = quiet_alerts(live(target, [r for r in readings if r.at < cut]))
    target.learn_outcome(told(alert, ended, Lesson.WENT_OUT))
    wednesday = quiet_alerts(live(target, [r for r in readings if r.at >= cut]))
    assert [local(d.at) for d in wednesday if d.transition.value == "raised"] == ["31 13:40"]


def test_what_one_outcome_widens_is_bounded() -> None:
    target = monitor(outcome_quiet_widen_h=2.0)
    first, rest = first_week(target)
    alert, ended = quiet_alerts(first)
    quiet = target.learners["quiet"]
    limit_h = quiet.limit_h(72)  # 18:00 local, before the outcome

    learned = target.learn_outcome(told(alert, ended, Lesson.WENT_OUT))

    assert learned is not None and "(widened by at most 2 h)" in learned.en
    assert quiet.limit_on(quiet._outings[0][0], 72) <= limit_h + 2.0 + quiet.grace_h  # not the whole 9.5 h
    # Taught only the last hours of the spell: the same long outing next Tuesday is still told.
    second = [d for d in quiet_alerts(live(target, rest)) if d.transition.value == "raised"]
    assert [local(d.at) for d in second] == ["30 13:40"]


def test_went_out_never_teaches_the_seed_rule_a_whole_quiet_day_still_fires_it() -> None:
    target = monitor()
    first, _ = first_week(target)
    alert, ended = quiet_alerts(first)
    # "Went out" given for a whole day and more away: bounded, and the 24 h rule stands.
    long_out = OutcomeHeard(HOUSEHOLD, alert.alert_id, UNUSUAL, Lesson.WENT_OUT, alert.onset, alert.onset + timedelta(hours=30),
                            alert.onset + timedelta(hours=31))
    learned = target.learn_outcome(long_out)
    assert learned is not None and "(" + "6.0 h)" not in learned.en
    readings = routine(27, quiet=outing(NEXT_TUESDAY - 2, hours=40))
    later = live(target, [r for r in readings if r.at >= at(18 * DAY)])
    assert raised(NO_ACTIVITY) in changes(later)


def test_the_seed_rule_alert_teaches_nothing_whatever_the_outcome() -> None:
    target = monitor()
    first, _ = first_week(target)
    alert, ended = quiet_alerts(first)
    for seed in (AlertType.NO_ACTIVITY_24H, AlertType.NO_GAS_24H, AlertType.NO_WATER_24H):
        heard = OutcomeHeard(HOUSEHOLD, alert.alert_id, seed, Lesson.WENT_OUT, alert.onset, ended.at, ended.at)
        assert target.learn_outcome(heard) is None
    assert target.learners["quiet"].outings_learned == 0


def test_elder_unwell_teaches_nothing() -> None:
    """Only "went out" and "meter fault" are lessons (alerts.answers sends nothing else); an outcome of another
    household, or a lesson that does not fit the alert, changes nothing either."""
    target = monitor()
    first, rest = first_week(target)
    alert, ended = quiet_alerts(first)
    assert target.learn_outcome(told(alert, ended, Lesson.METER_FAULT)) is None
    other = OutcomeHeard("hh-other", alert.alert_id, UNUSUAL, Lesson.WENT_OUT, alert.onset, ended.at, ended.at)
    assert target.learn_outcome(other) is None
    assert target.learners["quiet"].outings_learned == 0
    assert [local(d.at) for d in quiet_alerts(live(target, rest)) if d.transition.value == "raised"] == ["30 13:40"]


def clocked(target: HouseholdMonitor, readings: list, from_h: float, to_h: float) -> list[Detection]:
    """Readings as they come, and a tick every quarter-hour whether or not a reading came (live time)."""
    out: list[Detection] = []
    pending = sorted(readings, key=lambda r: r.at)
    for i in range(int((to_h - from_h) / 0.25) + 1):
        now = at(from_h + i * 0.25)
        while pending and pending[0].at <= now:
            out += target.observe(pending.pop(0)).detections
        out += target.tick(Tick(now))
    return out


def gappy_water(gap_from_h: float, gap_h: float) -> list:
    """A water meter reporting every quarter-hour for 3 days, silent for `gap_h` from `gap_from_h`, then again."""
    readings = [water(i * 0.25, 40.0 + 0.01 * i) for i in range(int(72 / 0.25))]
    return [r for r in readings if not at(gap_from_h) < r.at < at(gap_from_h + gap_h)]


def test_meter_fault_on_a_silent_meter_makes_the_same_gap_not_a_ticket() -> None:
    target = monitor(MeterKind.WATER, learned=False)
    first = clocked(target, [r for r in gappy_water(30, 5) if r.at <= at(48)], 0, 48)
    silent = [d for d in first if d.alert_type is AlertType.METER_SILENT]
    assert changes(silent) == [raised(AlertType.METER_SILENT), (AlertType.METER_SILENT, silent[1].transition)]

    learned = target.learn_outcome(told(silent[0], silent[1], Lesson.METER_FAULT))

    assert learned is not None and learned.en.startswith(f"Learned: meter {WATER} sometimes sends nothing for 5.0 h")
    again = clocked(target, [r for r in gappy_water(54, 5) if r.at > at(48)], 48.25, 71.75)
    assert [d for d in again if d.alert_type is AlertType.METER_SILENT] == []
    # A silence far longer than the fault taught is still a ticket.
    assert [d.alert_type for d in target.tick(Tick(at(72 + 12)))] == [AlertType.METER_SILENT]


def test_meter_fault_teaches_at_most_the_bound() -> None:
    target = monitor(MeterKind.WATER, learned=False, outcome_silent_max_h=2.0)
    first = clocked(target, [r for r in gappy_water(30, 5) if r.at <= at(48)], 0, 48)
    silent = [d for d in first if d.alert_type is AlertType.METER_SILENT]
    learned = target.learn_outcome(told(silent[0], silent[1], Lesson.METER_FAULT))
    assert learned is not None and "for 2.0 h" in learned.en
    again = clocked(target, [r for r in gappy_water(54, 5) if r.at > at(48)], 48.25, 71.75)
    assert raised(AlertType.METER_SILENT) in changes(again)


def test_went_out_on_a_silent_meter_teaches_nothing() -> None:
    target = monitor(MeterKind.WATER, learned=False)
    first = clocked(target, [r for r in gappy_water(30, 5) if r.at <= at(48)], 0, 48)
    silent = [d for d in first if d.alert_type is AlertType.METER_SILENT]
    assert target.learn_outcome(told(silent[0], silent[1], Lesson.WENT_OUT)) is None
    assert SHANGHAI is not None
