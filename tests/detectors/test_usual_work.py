"""The usual reading and tick of a warm household cost a bounded amount of work (issue #13, item 3).

Work is counted, not timed (as in test_dense_readings): the lines of `detectors/` that run per
reading, ticks included, on the workload of benchmarks/detectors_throughput.py in small — varied
households with gas and water read every quarter-hour, their learned detectors warm, a tick for
every household every quarter-hour.  A shared, loaded machine changes the seconds, not the lines.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import detectors
from benchmarks.detectors_throughput import START, template_readings
from carewatch.domain import Reading, Tick
from detectors.household import HouseholdMonitor

_DETECTORS = str(Path(detectors.__file__).parent)
_WARM_DAYS = 17
_JUDGED_HOURS = 6
_LINES_PER_READING = 320
"""Measured on the workload below: 365 before the hot paths of the tick and the usual reading were cut
(December 2026), 300 after."""


def test_a_warm_households_usual_reading_and_tick_stay_within_their_lines() -> None:
    registry, readings = template_readings(_WARM_DAYS + 0.5, households=8)
    since = START + timedelta(days=_WARM_DAYS)
    monitors = {h: HouseholdMonitor(registry.households[h].profile) for h in readings}
    by_quarter: dict[datetime, list[Reading]] = {}
    for household_id, own in readings.items():
        for reading in own:
            if reading.at < since:
                monitors[household_id].observe(reading)
            elif reading.at < since + timedelta(hours=_JUDGED_HOURS):
                by_quarter.setdefault(reading.at, []).append(reading)
    assert all(m.learners["quiet"].warm for m in monitors.values())  # the learned verdicts are judged too

    lines = 0

    def count_lines(frame: FrameType, event: str, _arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
        return count_lines

    def trace(frame: FrameType, event: str, _arg: Any) -> Any:
        return count_lines if frame.f_code.co_filename.startswith(_DETECTORS) else None

    judged, answers = 0, 0
    for at in sorted(by_quarter):
        sys.settrace(trace)
        try:
            for reading in by_quarter[at]:
                answers += not monitors[reading.household_id].observe(reading).accepted
            for monitor in monitors.values():
                answers += len(monitor.tick(Tick(at)))
        finally:
            sys.settrace(None)
        judged += len(by_quarter[at])

    assert judged >= 8 * 2 * 4 * _JUDGED_HOURS * 0.9  # gas and water of every household, every quarter-hour
    assert answers == 0  # the usual: every reading taken in, nothing raised
    assert lines / judged <= _LINES_PER_READING, lines / judged
