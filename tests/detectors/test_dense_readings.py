"""Judging cost is linear in the readings: a reading costs the same work however dense they come.

Work is counted, not timed: the lines of `detectors/` that run per reading (so a walk over
the history shows up as its length), and the readings pruning copies per reading (its bulk
copy runs in C, unseen by the line count).  The same hour of one household is read every 4 s
and every second: four times the readings in every window.  Quadratic cost would cost each reading
four times as much; linear cost the same.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple

from tests.detectors.conftest import GAS, HOUSEHOLD, T0, WATER, monitor

import detectors
from carewatch.domain import AlertType, MeterKind, Reading, Transition

_DETECTORS = str(Path(detectors.__file__).parent)
_HOURS = 1.0
_RULES = {
    # Short windows, so every rule that looks back has a full window within 1.5 h.
    "inactivity_window_h": 0.5,
    "gas_continuous_h": 0.25,
    "water_continuous_h": 0.25,
    "continuity_max_gap_h": 0.05,
}
_LINES_BUDGET = 1000
"""Lines per reading beyond which counting stops (quadratic cost would take minutes to count)."""


class Work(NamedTuple):
    lines_per_reading: float
    copied_per_reading: float
    alerts: list[tuple[AlertType, Transition]]


def _readings(apart_s: float) -> list[Reading]:
    """Both meters read every `apart_s`.  A gas leak (2 m³/h) throughout; water only dripping,
    below the threshold: gas flows continuously (a flow walk per gas reading) while water is
    quiet over a whole window (a quiet-spell walk per reading); both histories are pruned."""
    out = []
    for n in range(round(_HOURS * 3600 / apart_s)):
        seconds = n * apart_s
        at = T0 + timedelta(seconds=seconds)
        drips = seconds // 300  # one every 5 minutes
        out.append(Reading(HOUSEHOLD, GAS, MeterKind.GAS, at, round(100 + 2 * seconds / 3600, 4)))
        out.append(Reading(HOUSEHOLD, WATER, MeterKind.WATER, at, round(40 + 0.0001 * drips, 4)))
    return out


def _work(apart_s: float) -> Work:
    target = monitor(**_RULES)
    readings = _readings(apart_s)
    lines = 0
    budget = _LINES_BUDGET * len(readings)

    def count_lines(frame: FrameType, event: str, _arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
            if lines > budget:
                sys.settrace(None)
                return None
        return count_lines

    def trace(frame: FrameType, event: str, _arg: Any) -> Any:
        return count_lines if frame.f_code.co_filename.startswith(_DETECTORS) else None

    copied, alerts = 0, []
    for reading in readings:
        histories = target._histories
        arrays = {m: h.times for m, h in histories.items()}
        if lines <= budget:
            sys.settrace(trace)
        try:
            observation = target.observe(reading)
        finally:
            sys.settrace(None)
        assert observation.rejection is None, observation
        alerts += [(d.alert_type, d.transition) for d in observation.detections]
        copied += sum(len(h.times) for m, h in histories.items() if h.times is not arrays[m])
    return Work(lines / len(readings), copied / len(readings), alerts)


def test_a_reading_costs_the_same_work_when_readings_come_four_times_as_dense() -> None:
    sparse, dense = _work(4.0), _work(1.0)

    # Both streams show the same household: the leak, then the quiet water.
    expected = [(AlertType.GAS_CONTINUOUS, Transition.RAISED), (AlertType.NO_WATER_24H, Transition.RAISED)]
    assert sparse.alerts == dense.alerts == expected
    assert dense.lines_per_reading < min(1.5 * sparse.lines_per_reading, _LINES_BUDGET), (sparse, dense)
    assert dense.copied_per_reading < 1.5 * sparse.copied_per_reading, (sparse, dense)
