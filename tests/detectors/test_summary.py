"""The learned routine as duty staff see it, from a monitor fed simulated days of an elder's life."""

from __future__ import annotations

import pickle
from datetime import time

from carewatch.domain import MeterKind
from detectors.summary import summarize
from tests.detectors.conftest import feed, monitor, routine


def test_a_monitor_in_its_warm_up_says_how_many_days_it_has_learned():
    household = monitor()
    feed(household, routine(10))
    summary = summarize(household)
    assert summary.learning and not summary.warm
    assert 7 <= summary.days_learned < summary.warmup_days == 14  # the first day was heard only in part
    assert summary.quiet_h is None and summary.longest_quiet is None  # the learned quiet rule is silent yet


def test_a_warm_monitor_knows_the_morning_the_night_the_litres_and_the_usual_quiet():
    household = monitor()
    feed(household, routine(20))
    summary = summarize(household)
    assert summary.warm and summary.days_learned >= 14
    assert time(6, 45) <= summary.first_use <= time(7, 30)  # up at about 07:00 (Shanghai)
    start, end = summary.sleep
    assert time(21, 0) <= start <= time(23, 0) and time(6, 0) <= end <= time(7, 30)
    assert summary.usual_l == {MeterKind.WATER: 70, MeterKind.GAS: 150}  # 7 uses of 10 l, 3 of 50 l a day
    hour, hours = summary.longest_quiet
    assert 6 <= hour <= 9 and hours >= 8  # the night is the longest usual quiet
    assert summary.quiet_h[15] < hours  # an afternoon's quiet is short
    assert summarize(pickle.loads(pickle.dumps(household))) == summary  # as the runner's snapshot shows it


def test_a_household_without_learning_has_no_routine():
    household = monitor(learned=False)
    feed(household, routine(3))
    summary = summarize(household)
    assert (summary.learning, summary.warm, summary.days_learned, summary.usual_l) == (False, False, 0, {})


def test_a_water_only_household_has_no_gas_litres():
    household = monitor(MeterKind.WATER)
    feed(household, routine(16, kinds=(MeterKind.WATER,)))
    assert set(summarize(household).usual_l) == {MeterKind.WATER}
