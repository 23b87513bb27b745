"""Read a simulation back the way carewatch would: from the published messages only."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gateway_sim import SimMessage

INTERVAL_H = 0.25


@dataclass(frozen=True, slots=True)
class Published:
    at: datetime
    register_m3: float


def readings_by_meter(messages: Iterable[SimMessage]) -> dict[str, list[Published]]:
    meters: dict[str, list[Published]] = {}
    for message in messages:
        if message.kind != "readings":
            continue
        for reading in json.loads(message.payload)["readings"]:
            meters.setdefault(reading["meter_id"], []).append(
                Published(datetime.fromisoformat(reading["at"]), reading["register_m3"])
            )
    for readings in meters.values():
        readings.sort(key=lambda r: r.at)
    return meters


def uses(readings: list[Published]) -> list[tuple[datetime, float]]:
    """(end of interval, m³ used in it) between consecutive readings, rounded to the dial's litre."""
    return [(b.at, round(b.register_m3 - a.register_m3, 3)) for a, b in zip(readings, readings[1:], strict=False)]


def longest_flow_h(readings: list[Published], min_flow_m3_per_h: float) -> float:
    """Longest stretch of consecutive 15-min intervals each at or above the flow (as carewatch judges it)."""
    longest = run = 0
    for _, used in uses(readings):
        run = run + 1 if used / INTERVAL_H >= min_flow_m3_per_h - 1e-9 else 0
        longest = max(longest, run)
    return longest * INTERVAL_H
