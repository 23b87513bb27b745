"""A river anomaly model as an early warning of quiet (detectors.anomaly): opt-in, filtered, small."""

from __future__ import annotations

import pickle
import random

from river import anomaly
from tests.detectors.conftest import changes, cleared, live, local, monitor, raised, routine

from carewatch.domain import AlertType, MeterKind, Severity
from detectors.anomaly import RiverQuiet
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


def test_the_filter_does_not_learn_the_hours_it_flags_so_a_second_long_spell_is_still_flagged() -> None:
    detector, rng = _warm()
    noon_to_evening = range(48, 80)  # 12:00-20:00 with no use: learnable (say, a short alert)
    before = detector.samples_learned
    assert detector.score(18.0, 8.0) > detector._limits[17]  # 8 h of quiet at 18:00: flagged

    detector.learn_one(_day(16, rng, quiet=noon_to_evening))

    assert detector._flagged[-1] >> 17 & 1  # the hour ending 18:00 was flagged, not learned
    ordinary = RiverQuiet()
    rng_again = random.Random(42)
    for n in range(16):
        ordinary.learn_one(_day(n, rng_again))
    ordinary.learn_one(_day(16, random.Random(7)))
    assert detector.samples_learned - before < ordinary.samples_learned - before  # fewer samples learned
    assert detector.score(18.0, 8.0) > detector._limits[17]  # the spell did not teach it that 8 h is normal


def test_without_the_filter_the_same_spell_would_be_learned() -> None:
    """The control: the flagged hours are exactly the ones left out (a day learned cold learns them all)."""
    rng = random.Random(42)
    cold = RiverQuiet(warmup_days=30)  # never warm: nothing is judged, so nothing is flagged
    for n in range(16):
        cold.learn_one(_day(n, rng))
    cold.learn_one(_day(16, rng, quiet=range(48, 80)))

    assert cold._flagged[-1] == 0


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
