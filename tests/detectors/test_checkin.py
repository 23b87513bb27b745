"""The soft tier: a broken routine asks the elder first; family and staff hear only if she does not answer."""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from tests.detectors.conftest import HOUSEHOLD, changes, cleared, local, monitor, quiet_from, raised, routine

from carewatch.domain import AlertType, Audience, CheckInAnswer, Detection, MeterKind, Reading, Severity, Tick
from detectors.base import instant
from detectors.household import HouseholdMonitor
from detectors.quiet import QuietSpell, Spell
from detectors.routine import Day

CHECK_IN, MORNING, UNUSUAL = AlertType.CHECK_IN, AlertType.MORNING_ACTIVITY_MISSING, AlertType.UNUSUAL_QUIET
NO_ACTIVITY, NO_GAS, NO_WATER = AlertType.NO_ACTIVITY_24H, AlertType.NO_GAS_24H, AlertType.NO_WATER_24H
DAY = 24.0
FROM_DAY_20_EVENING = 20 * DAY + 2  # 21:40 local on day 20: after the evening's last use


def answering(
    target: HouseholdMonitor, readings: Iterable[Reading], after: timedelta | None = timedelta(minutes=10)
) -> list[Detection]:
    """Feed readings with a tick after each instant, as `live` does; the elder answers "I'm fine" to each
    check-in `after` it was asked (None: never)."""
    out: list[Detection] = []
    last, due = None, []
    for reading in readings:
        if last is not None and reading.at != last:
            found = target.tick(Tick(last))
            out += found
            if after is not None:
                due += [(d.at + after, d.alert_id) for d in found if d.alert_type is CHECK_IN and d.transition.value == "raised"]
        for at, alert_id in [x for x in due if x[0] <= reading.at]:
            due.remove((at, alert_id))
            out += target.answered(CheckInAnswer(HOUSEHOLD, alert_id, at))
        out += target.observe(reading).detections
        last = reading.at
    return out


def test_a_quiet_morning_asks_the_elder_alone_long_before_the_learned_alert() -> None:
    detections = answering(monitor(check_in=True), routine(22, quiet=quiet_from(FROM_DAY_20_EVENING)), after=None)

    asked = detections[0]
    assert asked.alert_type is CHECK_IN and asked.alert_type.audience is Audience.ELDER
    assert asked.severity is Severity.INFO
    assert local(asked.onset) == "25 20:55" and local(asked.at) == "26 07:55"  # usually up by 07:15; the learned alert: 09:10
    assert asked.explanation.en.startswith("No gas or water used since 20:55 yesterday (10.8 h), longer than usual")


def test_an_unanswered_check_in_tells_family_and_staff_at_once_and_the_24_h_rule_still_fires() -> None:
    detections = answering(monitor(check_in=True), routine(22, quiet=quiet_from(FROM_DAY_20_EVENING)), after=None)

    assert changes(detections) == [
        raised(CHECK_IN), cleared(CHECK_IN), raised(MORNING), raised(NO_GAS), raised(NO_ACTIVITY), cleared(NO_GAS), cleared(MORNING),
    ]
    asked, unanswered, morning = detections[:3]
    assert unanswered.facts["ended"] == "unanswered"
    assert local(morning.at) == "26 08:55"  # an hour after asking: not the learned limit (09:10)
    assert morning.onset == asked.onset and morning.facts["check_in"] == "unanswered"
    assert morning.alert_type.audience is Audience.CARE
    assert "the elder was asked at 07:55 and had not answered by 08:55" in morning.explanation.en


def test_i_am_fine_ends_the_check_in_quietly_and_nobody_else_hears_of_it() -> None:
    # Up late: nothing until 10:40 local on day 21; she answers the check-in 10 minutes after it is asked.
    detections = answering(monitor(check_in=True), routine(22, quiet=quiet_from(FROM_DAY_20_EVENING, 21 * DAY - 9)))

    assert changes(detections) == [raised(CHECK_IN), cleared(CHECK_IN)]
    assert detections[1].facts["ended"] == "fine"
    assert local(detections[1].at) == "26 08:05"
    assert detections[1].explanation.en.startswith("The elder answered \u201cI'm fine\u201d at 08:05")


def test_without_the_answer_the_same_late_morning_becomes_an_alert_for_family_and_staff() -> None:
    detections = answering(
        monitor(check_in=True), routine(22, quiet=quiet_from(FROM_DAY_20_EVENING, 21 * DAY - 9)), after=None
    )

    assert changes(detections) == [raised(CHECK_IN), cleared(CHECK_IN), raised(MORNING), cleared(MORNING)]


def test_use_ends_the_check_in_and_nobody_else_hears_of_it() -> None:
    # Up at 08:10 instead of about 07:00: asked at 07:55, then the kettle.
    detections = answering(
        monitor(check_in=True), routine(22, quiet=quiet_from(FROM_DAY_20_EVENING, 21 * DAY - 11.5)), after=None
    )

    assert changes(detections) == [raised(CHECK_IN), cleared(CHECK_IN)]
    assert detections[1].facts["ended"] == "used"


def test_i_am_fine_does_not_hold_back_the_24_h_rule_in_a_one_meter_home() -> None:
    detections = answering(
        monitor(MeterKind.WATER, check_in=True), routine(22, kinds=(MeterKind.WATER,), quiet=quiet_from(FROM_DAY_20_EVENING))
    )

    assert changes(detections)[:2] == [raised(CHECK_IN), cleared(CHECK_IN)]
    assert raised(NO_WATER) in changes(detections)  # the seed rule, whatever the elder said hours before
    critical = next(d for d in detections if d.alert_type is NO_WATER)
    assert critical.severity is Severity.CRITICAL


def test_a_late_morning_she_said_she_was_fine_about_is_not_asked_again_a_week_later() -> None:
    def late(hours: float) -> bool:
        return any(day * DAY - 13 <= hours < day * DAY - 9 for day in (21, 28))

    target = monitor(check_in=True)
    detections = answering(target, routine(29, quiet=late))

    asked = [local(d.at) for d in detections if d.alert_type is CHECK_IN and d.transition.value == "raised"]
    assert asked == ["26 07:55"] and target.learners["quiet"].answers_learned == 1
    assert not [d for d in detections if d.alert_type.audience is Audience.CARE]


def test_an_answer_makes_that_spell_usual_near_that_hour_on_that_weekday_only() -> None:
    target = monitor(check_in=True)
    answering(target, routine(22))
    learner = target.learners["quiet"]
    answered = routine(1)[0].at + timedelta(days=21, hours=12, minutes=5)  # 08:05 local on 01-26, a Friday
    date = answered.astimezone(target.profile.timezone).date().toordinal()
    before = [learner.usual_h(33, d) for d in (date + 7, date + 8)]

    learner.learn_answer((answered - timedelta(hours=11, minutes=10)).timestamp(), answered.timestamp(), target.profile.timezone)

    assert learner.usual_h(33, date + 7) > 11 > before[0]  # the next Friday at 08:15: 11 h of quiet is usual
    assert learner.usual_h(33, date + 8) == before[1]  # Saturday: as before
    assert learner.usual_h(60, date + 7) == learner.usual_h(60, date + 8)  # and only near that hour


def test_a_monitor_pickled_with_a_check_in_open_goes_on_the_same() -> None:
    readings = routine(22, quiet=quiet_from(FROM_DAY_20_EVENING))
    split = next(i for i, r in enumerate(readings) if local(r.at) == "26 08:25")
    original = monitor(check_in=True)
    before = answering(original, readings[:split], after=None)
    assert changes(before)[-1] == raised(CHECK_IN)

    restored = pickle.loads(pickle.dumps(original))

    assert answering(restored, readings[split:], after=None) == answering(original, readings[split:], after=None)


def test_an_answer_for_another_household_or_a_closed_check_in_changes_nothing() -> None:
    target = monitor(check_in=True)
    answering(target, routine(22, quiet=quiet_from(FROM_DAY_20_EVENING)), after=None)
    some_time = routine(1)[0].at + timedelta(days=21)

    assert target.answered(CheckInAnswer("hh-other", f"{HOUSEHOLD}.check_in.20240125T125500Z", some_time)) == ()
    assert target.answered(CheckInAnswer(HOUSEHOLD, f"{HOUSEHOLD}.check_in.20240101T000000Z", some_time)) == ()


def test_an_evening_quiet_in_a_household_up_till_eleven_is_asked_about_that_evening() -> None:
    # Water at 18:00, 21:00 and 23:00 local each day; on day 20 nothing more after the 18:00 meal.
    late = (0.0, 0.5, 1.5, 4.5, 7.5, 11.0, 14.0, 16.0)
    target = monitor(check_in=True)
    detections = answering(target, routine(22, water_h=late, quiet=quiet_from(20 * DAY - 1.25)), after=None)

    assert target.learners["night"].sleep() == (94, 28)  # asleep 23:30-06:30: the evening is hers to be asked in
    assert changes(detections)[:3] == [raised(CHECK_IN), cleared(CHECK_IN), raised(UNUSUAL)]
    asked, _, told = detections[:3]
    assert local(asked.at) == "25 21:40"  # her usual 21:00 use did not come (asked only from 07:00 on 07:00-21:00)
    assert local(told.at) == "25 22:40"  # unanswered: an hour later, not at the learned limit (23:10)


# A spell that began in the day is judged by the household's own days at that hour (QuietSpell._usual_limits).

MORNING_WASH_DONE = 13.1  # 08:46 local on the first morning: after the last morning use (08:15-08:45)


def test_one_long_day_out_does_not_make_a_quiet_afternoon_usual_for_weeks() -> None:
    # Day 3 of the learning: out from after the morning wash until 17:40, no lunch. Day 21: quiet from the same time.
    def out_and_then_gone(hours: float) -> bool:
        return 2 * DAY + MORNING_WASH_DONE <= hours < 2 * DAY + 22 or hours >= 20 * DAY + MORNING_WASH_DONE

    detections = answering(monitor(check_in=True), routine(22, quiet=out_and_then_gone), after=None)

    asked = detections[0]
    assert asked.alert_type is CHECK_IN
    assert local(asked.at) == "26 12:40"  # lunch missed (18:40 when the one day out made quiet until 17:40 usual)
    assert asked.facts["usual_h"] < 4


def test_a_long_day_out_seen_twice_is_usual_at_that_hour() -> None:
    def out_twice_and_then_gone(hours: float) -> bool:
        out = any(day * DAY + MORNING_WASH_DONE <= hours < day * DAY + 22 for day in (2, 9))
        return out or hours >= 20 * DAY + MORNING_WASH_DONE

    detections = answering(monitor(check_in=True), routine(22, quiet=out_twice_and_then_gone), after=None)

    assert local(detections[0].at) > "26 17:40"  # two such days: she does go out until then; asked after it


def test_no_grace_is_carried_into_the_quarter_hour_a_household_always_uses() -> None:
    rng = random.Random(42)
    learner = QuietSpell()
    for date in range(739000, 739021):  # up at 07:00; a use between 08:30 and 11:00; lunch in 11:45-12:00, every day
        morning = sum(1 << q for q in range(28, 33))
        learner.learn_one(Day(date, morning | 1 << rng.randint(34, 44) | 1 << 47 | 1 << 70, None, 0.12, True))
    nine = datetime(2024, 6, 3, 9, 0, tzinfo=UTC).timestamp()  # quiet since 09:00, through lunch

    found = learner.check_in(Spell(nine, nine, nine + 6 * 3600, UTC))

    assert found is not None
    assert instant(found.at_s).strftime("%H:%M") == "12:00"  # lunch missed: asked then, not half an hour later
    assert learner.usual_h(47, daytime=True) == 1.0 < learner.usual_h(47)  # the floor; after the night: 3.25 h carried
