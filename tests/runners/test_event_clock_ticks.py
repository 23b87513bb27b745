"""The embedded runner on the event clock ticks every household as time passes with the readings: after each
reading, the step its watermark (the newest reading less the lateness) entered, once.  Its monitors must come out
as they would had the tick schedule been asked after every reading, however the messages are batched, with late
readings, repeats and readings at the newest time among them."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from carewatch.domain import MeterKind, Reading, Tick
from carewatch.registry import RegisteredHousehold, Registry
from carewatch import slices
from carewatch.runners.embedded import pipeline as embedded
from carewatch.runners.embedded.pipeline import Pipeline
from carewatch.runners.engine import TickSchedule
from carewatch.settings import Settings
from detectors.config import HouseholdProfile, MeterProfile, RuleConfig
from detectors.household import HouseholdMonitor
from ingest.subscriber import InboundMessage

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
HOUSEHOLDS = ("hh-a", "hh-b", "hh-c")


def registry() -> Registry:
    zone, rules = ZoneInfo("Asia/Shanghai"), RuleConfig()
    return Registry([
        RegisteredHousehold(
            HouseholdProfile(h, (MeterProfile(f"{h}-gas", MeterKind.GAS), MeterProfile(f"{h}-water", MeterKind.WATER)), rules, zone),
            "", "default", "", None,
        )
        for h in HOUSEHOLDS
    ])


def traffic() -> list[tuple[str, datetime, float]]:
    """(meter, time, register) in the order sent: 30 hours of quarter-hours; hh-c falls silent after 3 hours;
    an hour of hh-b arrives 2 hours late, one message twice, and hh-a is read again at the newest time."""
    sent: list[tuple[str, datetime, float]] = []
    late: list[tuple[str, datetime, float]] = []
    for quarter in range(30 * 4):
        at = START + quarter * QUARTER
        for household in HOUSEHOLDS:
            if household == "hh-c" and quarter >= 12:
                continue
            for kind, step in (("gas", 0.002), ("water", 0.004)):
                reading = (f"{household}-{kind}", at, 100.0 + step * (quarter % 40))
                (late if household == "hh-b" and 40 <= quarter < 44 else sent).append(reading)
        if quarter == 52:
            sent += late  # two hours late
        if quarter == 60:
            sent += sent[-2:]  # a repeat
        if quarter == 70:
            sent.append(("hh-a-gas", at, 100.0 + 0.002 * (quarter % 40)))  # the newest time again
    return sent


def messages(readings: list[tuple[str, datetime, float]]) -> list[InboundMessage]:
    received = START + timedelta(days=3)
    return [
        InboundMessage(
            "carewatch/v1/gateways/gw-1/readings",
            orjson.dumps({"v": 1, "readings": [{"meter_id": meter, "at": at.isoformat(), "register_m3": register}]}),
            mid, 1, received,
        )
        for mid, (meter, at, register) in enumerate(readings, start=1)
    ]


def asked_after_every_reading(readings: list[tuple[str, datetime, float]], lateness: timedelta, step: timedelta) -> dict[str, bytes]:
    """The monitors as the embedded runner left them when it asked the tick schedule after every reading."""
    profiles = {h.household_id: h.profile for h in registry().households.values()}
    monitors = {h: HouseholdMonitor(profile) for h, profile in profiles.items()}
    schedule, newest = TickSchedule(step), None
    for meter, at, register in readings:
        household = meter.rsplit("-", 1)[0]
        kind = MeterKind.GAS if meter.endswith("gas") else MeterKind.WATER
        if monitors[household].observe(Reading(household, meter, kind, at, register)).accepted:
            newest = at if newest is None else max(newest, at)
        due = schedule.due(newest - lateness) if newest is not None else None
        if due is not None:
            for monitor in monitors.values():
                monitor.tick(Tick(due))
    return {h: pickle.dumps(monitor) for h, monitor in monitors.items()}


@pytest.mark.parametrize("sliced", [False, True], ids=["in-one-go", "a-turn-after-every-household"])
@pytest.mark.parametrize("batch", [1, 7, 10_000])
async def test_event_clock_ticks_are_those_of_asking_after_every_reading_however_batched(sessions, monkeypatch, batch, sliced):  # type: ignore[no-untyped-def]
    if sliced:  # the event loop's turn inside every tick, between any two households: the monitors are the same
        monkeypatch.setattr(slices, "SLICE_S", 0.0)
        monkeypatch.setattr(embedded, "SLICE_CHECK", 1)
    settings = Settings(_env_file=None, clock="event")  # type: ignore[call-arg]
    pipeline = Pipeline(registry=registry(), sessions=sessions, settings=settings, clock=lambda: START + timedelta(days=3))
    await pipeline.start()
    readings = traffic()
    sent = messages(readings)
    for first in range(0, len(sent), batch):
        await pipeline.handle(sent[first : first + batch])

    expected = asked_after_every_reading(readings, settings.watermark_lateness, settings.tick_every)
    assert {h: pickle.dumps(pipeline.states[h].monitor) for h in HOUSEHOLDS} == expected
    assert pipeline.states["hh-c"].monitor.raised()  # the silent household was told by the ticks
