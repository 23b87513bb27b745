"""Scripted incidents: the ground truth a detector run is judged against."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class IncidentKind(StrEnum):
    INACTIVE = "inactive"
    """The elder stops all activity (unwell): registers stay constant, the gateway keeps reporting."""
    GAS_LEFT_ON = "gas_left_on"
    """A stove burner left burning for hours."""
    WATER_LEFT_ON = "water_left_on"
    """A tap left open, or a leak, for hours."""
    GATEWAY_SILENT = "gateway_silent"
    """The gateway stops publishing (a device fault, not an elder problem); the elder lives on normally."""
    NIGHT_RESTLESS = "night_restless"
    """Restless nights (an infection, confusion): up about every hour of the night, flushing the toilet."""
    DECLINE = "decline"
    """Health failing: all gas and water use falls to about a third over five days and stays low."""


DEFAULT_KINDS = (
    IncidentKind.INACTIVE,
    IncidentKind.GAS_LEFT_ON,
    IncidentKind.WATER_LEFT_ON,
    IncidentKind.GATEWAY_SILENT,
)
"""The generated mix when none is asked for (the later kinds are asked for by name)."""


NEEDS_METER: dict[IncidentKind, str | None] = {
    IncidentKind.INACTIVE: None,
    IncidentKind.GAS_LEFT_ON: "gas",
    IncidentKind.WATER_LEFT_ON: "water",
    IncidentKind.GATEWAY_SILENT: None,
    IncidentKind.NIGHT_RESTLESS: "water",
    IncidentKind.DECLINE: None,
}


@dataclass(frozen=True, slots=True)
class Incident:
    household_id: str
    kind: IncidentKind
    start: datetime
    end: datetime | None = None
    """None: until the end of the run."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", IncidentKind(self.kind))
        if self.start.tzinfo is None or (self.end is not None and self.end.tzinfo is None):
            raise ValueError(f"incident {self.household_id}/{self.kind}: times must be timezone-aware")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"incident {self.household_id}/{self.kind}: end {self.end} is not after its start")

    def to_json(self) -> dict[str, str | None]:
        return {
            "household_id": self.household_id,
            "kind": str(self.kind),
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Absence:
    """A planned absence (a hospital stay, a visit to the children): nobody home, nothing used.

    Not an incident: the family told the service beforehand (the console stores it), so
    no alert about the silence is wanted, and safety alerts still are.
    """

    household_id: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"absence of {self.household_id}: times must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"absence of {self.household_id}: end {self.end} is not after its start")

    def to_json(self) -> dict[str, str]:
        return {"household_id": self.household_id, "start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where in the run an incident of one kind can start and still be detected before the run ends."""

    lead: timedelta
    """History needed before onset (detectors learn a day of normal life first)."""
    tail: timedelta
    """Time needed after onset for the incident to show (its own length included)."""
    daytime_only: bool
    """Stoves and taps are left on while someone is up, not at 3 a.m."""
    duration: tuple[float, float] | None
    """Range of the incident's length in hours; None: it lasts until the end of the run."""


PLACEMENT: dict[IncidentKind, _Placement] = {
    # 24 h without use raises the alert, plus a quarter day of slack for the detector's clock.
    IncidentKind.INACTIVE: _Placement(timedelta(days=1), timedelta(days=1.25), False, None),
    IncidentKind.GAS_LEFT_ON: _Placement(timedelta(days=1), timedelta(hours=6.5), True, (4.0, 6.0)),
    IncidentKind.WATER_LEFT_ON: _Placement(timedelta(days=1), timedelta(hours=6.5), True, (3.0, 6.0)),
    # A meter is judged silent after about an hour without readings.
    IncidentKind.GATEWAY_SILENT: _Placement(timedelta(days=1), timedelta(hours=3), False, None),
    # Two or three nights, and the morning after the last one to tell of it.
    IncidentKind.NIGHT_RESTLESS: _Placement(timedelta(days=1), timedelta(days=4), False, (48.0, 72.0)),
    # A week and a half: five days of falling use, then a week at a third.
    IncidentKind.DECLINE: _Placement(timedelta(days=1), timedelta(days=12.5), False, (288.0, 288.0)),
}


def generate_incidents(
    households: Sequence[tuple[str, frozenset[str]]],
    run_start: datetime,
    run_end: datetime,
    seed: int,
    share: float,
    *,
    kinds: Sequence[IncidentKind] | None = None,
    lead: timedelta | None = None,
    inactive_hours: float | None = None,
) -> list[Incident]:
    """A deterministic mix: about ``share`` of households, each kind at least once where it fits.

    ``households`` are (household id, kinds of meters it has).  A kind is left out
    when the run is too short for it to be detectable (e.g. inactivity in a 2-day run).
    ``kinds`` narrows the mix, ``lead`` keeps incidents out of the first part of the run
    (a learning period), ``inactive_hours`` ends inactivity after that long (the elder is
    found and recovers) instead of at the end of the run.
    """
    rng = random.Random(f"gateway_sim.incidents:{seed}")
    wanted_kinds = list(kinds or DEFAULT_KINDS)  # a kind listed twice comes up twice as often
    placements = {k: _adjusted(PLACEMENT[k], k, lead, inactive_hours) for k in wanted_kinds}
    kinds = [k for k in wanted_kinds if run_start + placements[k].lead <= run_end - placements[k].tail]
    if not kinds or not households:
        return []
    wanted = min(len(households), max(len(kinds), round(share * len(households))))
    order = list(range(len(households)))
    rng.shuffle(order)
    incidents: list[Incident] = []
    taken: set[int] = set()
    for n in range(wanted):
        kind = kinds[n % len(kinds)]
        need = NEEDS_METER[kind]
        index = next((i for i in order if i not in taken and (need is None or need in households[i][1])), None)
        if index is None:
            continue  # e.g. no household left with the meter this kind needs
        taken.add(index)
        incidents.append(_place(households[index][0], kind, placements[kind], run_start, run_end, rng))
    return sorted(incidents, key=lambda i: (i.start, i.household_id))


def _adjusted(
    placement: _Placement, kind: IncidentKind, lead: timedelta | None, inactive_hours: float | None
) -> _Placement:
    if lead is not None and lead > placement.lead:
        placement = replace(placement, lead=lead)
    if kind is IncidentKind.INACTIVE and inactive_hours is not None:
        # Still long enough after onset for the fixed 24 h rule, even on a daily batch upload.
        tail = max(placement.tail, timedelta(hours=inactive_hours))
        placement = replace(placement, tail=tail, duration=(inactive_hours, inactive_hours))
    return placement


def generate_absences(
    households: Sequence[str], run_start: datetime, run_end: datetime, seed: int, share: float, lead: timedelta
) -> list[Absence]:
    """About ``share`` of ``households`` away once, for 1 to 7 days, leaving in the daytime."""
    rng = random.Random(f"gateway_sim.absences:{seed}")
    zone = run_start.tzinfo
    chosen = [h for h in households if rng.random() < share]
    absences = []
    for household_id in chosen:
        days = rng.uniform(1.0, 7.0)
        earliest = run_start.astimezone(UTC) + lead
        span_s = (run_end.astimezone(UTC) - timedelta(days=days) - earliest).total_seconds()
        if span_s <= 0:
            continue
        for _ in range(100):
            start = earliest + timedelta(minutes=int(rng.uniform(0, span_s) // 60))
            if 8 <= start.astimezone(zone).hour < 18:
                break
        end = start + timedelta(days=days)
        absences.append(Absence(household_id, start.astimezone(zone), end.astimezone(zone)))
    return sorted(absences, key=lambda a: (a.start, a.household_id))


def _place(
    household_id: str,
    kind: IncidentKind,
    placement: _Placement,
    run_start: datetime,
    run_end: datetime,
    rng: random.Random,
) -> Incident:
    zone = run_start.tzinfo
    earliest = run_start.astimezone(UTC) + placement.lead  # UTC arithmetic: right across DST too
    span_s = (run_end.astimezone(UTC) - placement.tail - earliest).total_seconds()
    start = earliest
    for _ in range(100):
        start = earliest + timedelta(minutes=int(rng.uniform(0, span_s) // 60))
        if not placement.daytime_only or 7 <= start.astimezone(zone).hour < 19:
            break
    end = None
    if placement.duration is not None:
        end = (start + timedelta(minutes=round(rng.uniform(*placement.duration) * 60))).astimezone(zone)
    return Incident(household_id, kind, start.astimezone(zone), end)
