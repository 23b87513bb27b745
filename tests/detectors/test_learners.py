"""One check kit for every learned detector (river's `check_estimator` idea).

Each learned detector learns from closed days (`learn_one(day)`) and answers
`score_one(probe)`; the checks run the same seeded stream of days through every
one of them: its state pickles mid-stream, a clone starts afresh with the same
settings, the same seed gives the same answers, and days with missing meters,
nothing learnable or dates out of order are taken in stride.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
import random

import pytest
from river import base

import detectors
from detectors.routine import Day


def _learner_classes() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(detectors.__path__):
        module = importlib.import_module(f"detectors.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, base.Base):
                found.append(cls)
    return sorted(found, key=lambda cls: cls.__qualname__)


LEARNERS = _learner_classes()
FIRST_DAY = 739000


def days(seed: int, count: int = 40) -> list[Day]:
    """A seeded stream of ordinary days: up between 06:15 and 08:00, some use every hour or two."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        quarter, active = rng.randint(25, 32), 0
        while quarter < 88:
            active |= 1 << quarter
            quarter += rng.randint(2, 8)
        if rng.random() < 0.2:
            active |= 1 << rng.randint(0, 20)  # a night-time toilet visit
        out.append(Day(FIRST_DAY + n, active, round(rng.uniform(0.2, 2.0), 3), round(rng.uniform(0.05, 0.4), 3), True))
    return out


def answers(learner: base.Base, seed: int) -> list[object]:
    return [learner.score_one(probe) for probe in type(learner)._unit_test_probes(random.Random(seed))]


def test_the_kit_covers_the_learned_detectors() -> None:
    assert {"QuietSpell", "NightUse", "DailyVolume"} <= {cls.__qualname__ for cls in LEARNERS}


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda cls: cls.__qualname__)
def test_state_pickled_mid_stream_gives_identical_answers_afterwards(cls: type) -> None:
    stream = days(seed=42)
    original = cls()
    for day in stream[:20]:
        original.learn_one(day)

    restored = pickle.loads(pickle.dumps(original))

    for day in stream[20:]:
        original.learn_one(day)
        restored.learn_one(day)
        assert answers(restored, 7) == answers(original, 7)
    assert pickle.dumps(restored) == pickle.dumps(original)
    assert any(answer is not None for answer in answers(original, 7))


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda cls: cls.__qualname__)
def test_a_clone_has_the_same_settings_and_nothing_learned(cls: type) -> None:
    learner = cls(warmup_days=7)
    for day in days(seed=42):
        learner.learn_one(day)

    clone = learner.clone()

    assert clone._get_params() == learner._get_params() and clone.days_learned == 0
    for day in days(seed=42):
        clone.learn_one(day)
    assert answers(clone, 7) == answers(learner, 7)


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda cls: cls.__qualname__)
def test_the_same_seed_gives_the_same_answers_and_another_seed_others(cls: type) -> None:
    def run(seed: int) -> list[object]:
        learner = cls()
        for day in days(seed):
            learner.learn_one(day)
        return answers(learner, 7)

    assert run(42) == run(42)
    assert run(42) != run(43)


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda cls: cls.__qualname__)
def test_missing_meters_unlearnable_days_and_dates_out_of_order_are_tolerated(cls: type) -> None:
    stream = days(seed=42)
    learner = cls()
    for n, day in enumerate(stream):
        learner.learn_one(day._replace(gas_m3=None) if n % 3 == 0 else day._replace(water_m3=None))
    learner.learn_one(stream[-1]._replace(date=stream[-1].date + 1, active=0, learnable=False))  # an incident day
    learner.learn_one(stream[5])  # a day older than what was learned
    learner.learn_one(Day(stream[-1].date + 2, 0, None, None, True))  # a day with no use and no volumes

    assert learner.days_learned <= len(stream) + 1 and pickle.loads(pickle.dumps(learner)).days_learned == learner.days_learned
    answers(learner, 7)  # still answers


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda cls: cls.__qualname__)
def test_silent_until_the_warm_up_is_learned(cls: type) -> None:
    learner = cls(warmup_days=14)
    for day in days(seed=42, count=13):
        learner.learn_one(day)

    assert all(answer is None for answer in answers(learner, 7))
    learner.learn_one(days(seed=42, count=14)[-1])
    assert any(answer is not None for answer in answers(learner, 7))


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda cls: cls.__qualname__)
def test_days_not_fit_to_learn_from_do_not_change_what_is_normal(cls: type) -> None:
    learner = cls()
    for day in days(seed=42, count=20):
        learner.learn_one(day)
    before = answers(learner, 7)

    for n in range(5):  # five days without any use, flagged by an alert: an incident
        learner.learn_one(Day(FIRST_DAY + 20 + n, 0, 0.0, 0.0, False))

    assert answers(learner, 7) == before
