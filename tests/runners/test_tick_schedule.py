"""The tick grid both runners share (`carewatch.runners.engine.TickSchedule`): a watermark gives the step it
is in, once, and never a step at or before one already given, whatever order the watermarks come in."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from carewatch.runners.engine import EPOCH, TickSchedule

STEP = timedelta(minutes=5)


def test_each_step_is_due_once_and_never_one_already_passed() -> None:
    shuffle = random.Random(7)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    # mostly forward, as a replay's readings, with late ones and repeats in between
    watermarks = [start + timedelta(seconds=shuffle.randrange(-900, 7200)) + timedelta(minutes=i) for i in range(2000)]
    schedule = TickSchedule(STEP)
    given: list[datetime] = []
    for watermark in watermarks:
        step = EPOCH + ((watermark - EPOCH) // STEP) * STEP
        due = schedule.due(watermark)
        if given and step <= given[-1]:
            assert due is None, (watermark, given[-1])
        else:
            assert due == step
            given.append(due)
    assert len(given) == len(set(given)) > 100


def test_a_watermark_on_the_next_step_is_due_at_once() -> None:
    schedule = TickSchedule(STEP)
    at = datetime(2026, 1, 5, 8, 5, tzinfo=UTC)
    assert schedule.due(at - timedelta(microseconds=1)) == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert schedule.due(at - timedelta(microseconds=1)) is None
    assert schedule.due(at) == at
