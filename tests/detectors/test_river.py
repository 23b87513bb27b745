"""A river anomaly model as an early warning of quiet (detectors.anomaly): opt-in, filtered, small."""

from __future__ import annotations

import pickle
import random

from river import anomaly
from tests.detectors.conftest import changes, cleared, live, local, monitor, raised, routine

from carewatch.domain import AlertType, MeterKind, Severity
from detectors.anomaly import RiverQuiet, samples
from detectors.routine import Day

MORNING, UNUSUAL = AlertType.MORNING_ACTIVITY_MISSING, AlertType.UNUSUAL_QUIET
NO_ACTIVITY, NO_GAS, NO_WATER = AlertType.NO_ACTIVITY_24H, AlertType.NO_GAS_24H, AlertType.NO_WATER_24H
FROM_DAY_20_EVENING = 20 * 24.0 + 2  # 21:40 local on day 20: after the evening's last use
FIRST = 739000


def _day(n: int, rng: random.Random, quiet: range = range(0)) -> Day:
    """Up at about 07:00, some use every hour or so, in bed by 22:00; nothing in `quiet` (quarters)."""
    active, quarter = 0, 28 + rng.randint(-1, 2)
    while quarter < 88:
        if quarter not in quiet:
            active |= 1 << quarter
        quarter += rng.randint(2, 5)
    return Day(FIRST + n, active, 0.5, 0.12, True)


def _warm(seed: int = 42) -> tuple[RiverQuiet, random.Random]:
    rng = random.Random(seed)
    detector = RiverQuiet()
    for n in range(16):
        detector.learn_one(_day(n, rng))
    return detector, rng


def _last_day_samples(detector: RiverQuiet) -> list[tuple[int, dict[str, float]]]:
    """(hour, x) of the newest day's samples as they were (no levels)."""
    found = samples(detector._dates[-2:], detector._masks[-2:], levels=False)
    return [(hour, x) for row, hour, x in found if row == 1]


def test_the_filter_does_not_learn_the_hours_it_flags_so_the_same_spell_is_still_flagged() -> None:
    detector, rng = _warm()

    detector.learn_one(_day(16, rng, quiet=range(32, 80)))  # 08:00-20:00 without use, yet learnable

    flagged = [hour for hour in range(24) if detector._flagged[-1] >> hour & 1]
    spell = [(h, x) for h, x in _last_day_samples(detector) if h in flagged]
    assert [h for h, _ in spell] == list(range(7, 20))  # the whole spell, up to the hour ending 20:00
    hour, x = spell[-1]
    assert detector.score(x["hour"], x["quiet"]) > detector._limits[hour]  # not taught that this is normal
    unfiltered = RiverQuiet(warmup_days=99)  # never warm: judges nothing, flags nothing, learns it all
    replay = random.Random(42)
    for n in range(17):
        unfiltered.learn_one(_day(n, replay, quiet=range(32, 80) if n == 16 else range(0)))
    assert unfiltered._flagged[-1] == 0
    left_out = sum(int(x["quiet"]) + 1 for _, x in spell)  # each sample and its levels below it
    assert unfiltered.samples_learned - detector.samples_learned == left_out


def test_the_state_is_the_days_not_the_model_and_stays_small() -> None:
    detector, rng = _warm()
    for n in range(16, 40):
        detector.learn_one(_day(n, rng))

    size = len(pickle.dumps(detector))
    restored = pickle.loads(pickle.dumps(detector))

    assert detector.days_learned == 14 and size < 400, size
    assert [restored.score(h, q) for h in (3, 9, 15) for q in (1, 4, 8)] == [
        detector.score(h, q) for h in (3, 9, 15) for q in (1, 4, 8)
    ]


def test_any_river_anomaly_model_fits_the_adapter_and_pickles_with_its_settings() -> None:
    for model in (
        anomaly.HalfSpaceTrees(n_trees=3, height=4, limits={"hour": (0, 24), "quiet": (0, 24)}, seed=7),
        anomaly.LODA(n_bins=10, n_random_cuts=8, seed=7),
        anomaly.GaussianScorer(grace_period=10),  # supervised: the quiet hours are its target
    ):
        detector = RiverQuiet(model=model)
        rng = random.Random(42)
        for n in range(16):
            detector.learn_one(_day(n, rng))
        restored = pickle.loads(pickle.dumps(detector))
        assert restored.model._get_params() == detector.model._get_params()
        assert restored.score(10.0, 6.0) == detector.score(10.0, 6.0)


def test_switched_on_the_river_model_warns_early_and_the_seed_rule_still_fires() -> None:
    target = monitor(MeterKind.WATER, river_quiet=True)

    detections = live(target, routine(23, kinds=(MeterKind.WATER,), quiet=lambda h: h >= FROM_DAY_20_EVENING))

    assert changes(detections) == [raised(MORNING), raised(NO_WATER), cleared(MORNING)]
    warning, critical, folded = detections
    assert warning.facts["detector"] in {"river", "quiet"} and warning.severity is Severity.WARNING
    assert critical.severity is Severity.CRITICAL and folded.facts["escalated_into"] == NO_WATER.value
    assert "river" in target.learners and local(warning.at) <= "26 09:10"  # no later than QuietSpell alone


def test_the_river_model_is_off_by_default() -> None:
    assert "river" not in monitor().learners
