"""Work that grows with households stays off the hot path (issue 13 item 4): the wall-clock tick and the event-clock cold start in slices."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import pickle
import socket
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.models import Alert
from benchmarks.loop_lag import longest_turn
from carewatch.domain import MeterKind, Reading, Tick
from carewatch.registry import RegisteredHousehold, Registry
from carewatch import slices
from carewatch.runners.embedded import pipeline as embedded
from carewatch.runners.collector import freeze_survivors
from carewatch.runners.embedded.pipeline import Pipeline, running_system
from carewatch.runners.engine import judge
from carewatch.settings import Settings
from detectors.config import HouseholdProfile, MeterProfile, RuleConfig
from ingest.archive import ArchiveOutbox, Archiver, InfluxTarget
from ingest.models import DeadLetter
from ingest.usage import HourlyUsage
from ingest.subscriber import BrokerAddress, InboundMessage, MqttSubscriber

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STALL_LIMIT_S = 0.05
"""Issue 13: no pause of ingest or the API longer than 50 ms."""


def registry_of(households: int, *every_s: float) -> Registry:
    """``every_s``: the meters' reading interval and upload period (default: a reading every 15 minutes, sent as taken)."""
    zone, rules = ZoneInfo("Asia/Shanghai"), RuleConfig()
    return Registry([
        RegisteredHousehold(
            HouseholdProfile(f"hh-{i:06d}", (MeterProfile(f"g-{i:06d}", MeterKind.GAS, *every_s), MeterProfile(f"w-{i:06d}", MeterKind.WATER, *every_s)), rules, zone),
            "", "default", "", None,
        )
        for i in range(households)
    ])


def pipeline_of(sessions: async_sessionmaker[AsyncSession], households: int, clock: str) -> Pipeline:
    """A pipeline over ``registry_of(households)`` with the ``clock`` setting ("wall" or "event"), its own clock stopped at NOW."""
    settings = Settings(_env_file=None, clock=clock)  # type: ignore[call-arg]
    return Pipeline(registry=registry_of(households), sessions=sessions, settings=settings, clock=lambda: NOW)


def heard_at(pipeline: Pipeline, at: datetime) -> None:
    """Every household's two meters read once at ``at``."""
    for household_id, household in pipeline.registry.households.items():
        monitor = pipeline._state(household_id).monitor
        for meter in household.profile.meters:
            judge(monitor, Reading(household_id, meter.meter_id, meter.kind, at, 10.0))


async def test_a_task_waiting_on_a_timer_or_a_socket_has_its_turn_after_every_slice(monkeypatch):
    # What the stall tests measure, made exact: with two yields a slice ended on, a task whose timer fell due during
    # a slice was woken only after the next one (20 of 40 slices; the probe saw 21 ms turns of 10 ms slices): the
    # timer's callback only queues the task's wake-up.  A task reading a socket had its turn (39 of 40): kept as a guard.
    monkeypatch.setattr(slices, "SLICE_S", 0.002)
    turns = {"timer": 0, "socket": 0}

    async def sleeping() -> None:
        while True:
            await asyncio.sleep(0.0001)
            turns["timer"] += 1

    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)

    async def reading() -> None:
        while await reader.read(1):
            turns["socket"] += 1

    waiting = [asyncio.create_task(sleeping()), asyncio.create_task(reading())]
    await asyncio.sleep(0.01)
    work, slices_run, in_time = slices.Slices(), 40, {"timer": 0, "socket": 0}
    for _ in range(slices_run):
        before = dict(turns)
        theirs.send(b"x")  # readable as soon as the loop looks at its sockets
        while not work.used_up():
            pass  # a slice of work that cannot await
        await work.turn()
        for waiter in turns:
            in_time[waiter] += turns[waiter] > before[waiter]
    for task in waiting:
        task.cancel()
    writer.close()
    theirs.close()
    assert in_time == {"timer": slices_run, "socket": slices_run}, f"slices after which each waiter had its turn, of {slices_run}"


@pytest.mark.heavy  # 7–10 s: in CI, not in the fast selection
async def test_a_wall_clock_tick_of_many_households_never_stalls_the_event_loop_50_ms(sessions):
    # 24,000 households take ≈ 0.2 s to tick on this machine (12,000 took ≈ 0.3 s before the detectors' cheaper
    # ticks, ≈ 0.1 s after: too near the 0.1 s this test needs to show a stall): walked in one go, the loop froze.
    pipeline = pipeline_of(sessions, 24_000, "wall")
    await pipeline.start()
    heard_at(pipeline, NOW - timedelta(minutes=10))

    began = time.thread_time()
    _, stall = await longest_turn(pipeline.tick(NOW))
    took = time.thread_time() - began

    assert took > 2 * STALL_LIMIT_S, f"the tick took {took:.3f} s: too few households to show a stall"
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms during a tick of 24,000 households"


async def test_a_sweep_in_slices_raises_and_commits_what_one_walk_would(sessions, monkeypatch):
    monkeypatch.setattr(slices, "SLICE_S", 0.0)  # a slice per SLICE_CHECK households: 300 households, 19 slices
    pipeline = pipeline_of(sessions, 300, "wall")
    await pipeline.start()
    heard_at(pipeline, NOW - timedelta(days=2))  # silent since: every meter is overdue
    expected = {
        (household_id, detection.alert_type)
        for household_id, state in pipeline.states.items()
        for detection in pickle.loads(pickle.dumps(state.monitor)).tick(Tick(NOW))
    }
    assert expected, "the households should be overdue"

    pipeline._start_sweep(NOW + timedelta(seconds=1))
    sliced = 0
    while pipeline._sweep is not None:
        await pipeline._sweep_slice()
        sliced += 1

    assert sliced == 19
    async with sessions() as session:
        stored = set((await session.execute(select(Alert.household_id, Alert.alert_type))).all())
        assert await session.scalar(select(func.count()).select_from(Alert)) == len(expected)
    assert stored == expected


async def test_a_household_that_left_the_directory_during_a_sweep_is_not_ticked(sessions, monkeypatch):
    monkeypatch.setattr(slices, "SLICE_S", 0.0)
    pipeline = pipeline_of(sessions, 200, "wall")
    await pipeline.start()
    pipeline._start_sweep(NOW)
    await pipeline._sweep_slice()
    pipeline.use_registry(registry_of(100))  # the second half leaves the directory
    while pipeline._sweep is not None:
        await pipeline._sweep_slice()
    assert set(pipeline.states) == set(pipeline.registry.households)


async def test_resumed_states_are_frozen_out_of_the_collectors_full_passes(sessions, monkeypatch):
    # A full pass of the cyclic collector walks every object: over a city's states it stalled the loop for seconds.
    monkeypatch.setattr(embedded, "FREEZE_FROM", 20, raising=False)  # (raising: so it ran on the code before)
    first = pipeline_of(sessions, 30, "wall")
    await first.start()
    heard_at(first, NOW)
    touched = embedded.Judged(touched=set(first.states))
    await first._commit(touched, until_taken=True)

    resumed = pipeline_of(sessions, 30, "wall")
    gc.unfreeze()
    try:
        await resumed.start()
        assert len(resumed.states) == 30
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_messages_are_judged_between_the_slices_of_a_sweep(sessions, monkeypatch):
    monkeypatch.setattr(slices, "SLICE_S", 0.0)  # a slice per SLICE_CHECK households
    pipeline = pipeline_of(sessions, 2000, "wall")
    await pipeline.start()
    subscriber = MqttSubscriber(BrokerAddress("127.0.0.1", 1), "test", "carewatch/v1")  # never connected: its inbox only
    slices_before: list[int] = []
    handle = pipeline.handle

    async def handled(messages):  # type: ignore[no-untyped-def]
        slices_before.append(pipeline._sweep.position if pipeline._sweep else -1)
        await handle(messages)

    monkeypatch.setattr(pipeline, "handle", handled)
    pipeline._start_sweep(NOW)  # as the wall clock starts one every tick_every
    consumer = asyncio.create_task(pipeline.consume(subscriber))
    while pipeline._sweep is not None and pipeline._sweep.position == 0:
        await asyncio.sleep(0)
    await subscriber.inbox.put(InboundMessage("carewatch/v1/gateways/gw-1/readings", b"{}", 1, 0, NOW))
    while not slices_before:
        await asyncio.sleep(0)
    consumer.cancel()
    # Awaited, so no transaction of the cancelled loop holds a connection when the engine is disposed
    # (left running, the fixture's dispose waited 300 s for it).
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(consumer, 10)
    # The message was judged while the sweep had households left to tick, not after it (the loop answered too).
    assert 0 < slices_before[0] < 2000


async def test_the_running_system_keeps_what_it_started_with_out_of_the_collectors_full_passes(mosquitto_broker, tmp_path):
    # Modules, the directory and the resumed states live as long as the system: a full pass walked them all every
    # few batches.  They go back to the collector when the system stops.
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}", clock="event")  # type: ignore[call-arg]
    registry = registry_of(10)
    async with running_system(settings, registry, BrokerAddress(*mosquitto_broker), "frozen-at-start"):
        assert gc.get_freeze_count() > 0
        assert not any(o is registry for o in gc.get_objects())
    assert gc.get_freeze_count() == 0
    assert any(o is registry for o in gc.get_objects())


async def test_a_stopping_system_gives_its_objects_back_to_the_collector_once_disconnected_and_without_the_states(
    mosquitto_broker, tmp_path, monkeypatch
):
    # Unfrozen first, a city's states went back to the collector while MQTT was still connected: the full pass that
    # followed walked every household's objects (7 s of CPU at 100,000 households) before the subscriber stopped.
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}", clock="event")  # type: ignore[call-arg]
    seen_at_unfreeze: list[tuple[bool, int]] = []
    unfreeze = gc.unfreeze
    async with running_system(settings, registry_of(10), BrokerAddress(*mosquitto_broker), "unfrozen-last") as system:
        heard_at(system.pipeline, NOW)

        def watched() -> None:
            seen_at_unfreeze.append((system.subscriber._client.is_connected(), len(system.pipeline.states)))
            unfreeze()

        monkeypatch.setattr(embedded.gc, "unfreeze", watched)
    assert seen_at_unfreeze == [(False, 0)]
    assert gc.get_freeze_count() == 0


async def test_what_survives_a_full_pass_of_the_collector_is_frozen_out_of_the_next_while_the_system_runs(mosquitto_broker, tmp_path):
    # After the cold start nothing froze any more: what judging put into the monitors piled up in generation 2 and
    # every full pass walked all of it, in one stall of the loop (33–69 ms at 20,000 households, 145 ms at 50,000,
    # growing with them: runbook 1.6).
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}", clock="event")  # type: ignore[call-arg]
    async with running_system(settings, registry_of(10), BrokerAddress(*mosquitto_broker), "survivors-frozen") as system:
        heard_at(system.pipeline, NOW)  # monitors made, and their objects, after the start's freeze
        gc.collect()  # a full pass, as the interpreter starts one now and then
        tracked = {id(o) for o in gc.get_objects()}
        monitors = [state.monitor for state in system.pipeline.states.values()]
        walked = [monitor for monitor in monitors if id(monitor) in tracked]
    assert len(monitors) == 10
    assert walked == [], f"{len(walked)} of the 10 monitors made are still walked by every full pass"
    assert freeze_survivors not in gc.callbacks, "the hook goes with the system"


@pytest.mark.heavy  # 7–10 s: in CI, not in the fast selection
async def test_judging_and_ticking_monitors_leaves_no_garbage_cycles(sessions):
    # Why what survives a full pass may be frozen (`freeze_survivors`): a frozen object is freed when its last
    # reference goes, but a garbage cycle among frozen objects is never collected.  The monitors' objects are most
    # of what is frozen; judging and ticking them must leave nothing for the collector.
    pipeline = pipeline_of(sessions, 400, "event")
    await pipeline.start()
    heard_at(pipeline, NOW - timedelta(days=2))
    gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        for step in range(2 * 96):  # two days, a reading per meter and a tick of every household every 15 minutes
            at = NOW - timedelta(days=2) + (step + 1) * timedelta(minutes=15)
            heard_at(pipeline, at)
            for state in pipeline.states.values():
                state.monitor.tick(Tick(at))
        found = gc.collect()
    finally:
        if collecting:
            gc.enable()
    assert found == 0, f"judging and ticking 400 households for two days left {found} objects in garbage cycles"


def upload(households: range, at: datetime, register_m3: float) -> list[InboundMessage]:
    """One message per household with both its meters' readings at ``at``."""
    return [
        InboundMessage(
            "carewatch/v1/gateways/gw-1/readings",
            orjson.dumps({"v": 1, "readings": [
                {"meter_id": f"{kind}-{i:06d}", "at": at.isoformat(), "register_m3": register_m3} for kind in ("g", "w")
            ]}),
            i + 1, 1, NOW,
        )
        for i in households
    ]


async def test_a_large_batch_is_judged_and_committed_without_stalling_the_event_loop_50_ms(sessions):
    # MAX_BATCH messages of as many households are ≈ 0.3 s of judging and 0.1 s of pickling states: done in one go,
    # the API and MQTT's hand-off waited for all of it.
    pipeline = pipeline_of(sessions, embedded.MAX_BATCH, "event")
    await pipeline.start()
    heard_at(pipeline, NOW - timedelta(hours=2))  # every household has a state: the batch pickles them all
    gc.collect()
    gc.freeze()  # as running_system does: a full pass over the other tests' objects is no stall of ours
    try:
        began = time.thread_time()
        _, stall = await longest_turn(pipeline.handle(upload(range(embedded.MAX_BATCH), NOW - timedelta(hours=1), 10.5)))
        took = time.thread_time() - began
    finally:
        gc.unfreeze()

    assert pipeline.messages_seen == embedded.MAX_BATCH and len(pipeline.states) == embedded.MAX_BATCH
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(embedded.MonitorSnapshot)) == embedded.MAX_BATCH
    assert took > 2 * STALL_LIMIT_S, f"the batch took {took:.3f} s: too few messages to show a stall"
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms while {embedded.MAX_BATCH} messages were handled"


async def test_a_directory_change_while_a_batch_is_judged_takes_effect_once_the_batch_is_committed(sessions, monkeypatch):
    monkeypatch.setattr(slices, "SLICE_S", 0.0)  # the event loop's turn after every message
    pipeline = pipeline_of(sessions, 20, "event")
    await pipeline.start()
    handling = asyncio.create_task(pipeline.handle(upload(range(20), NOW - timedelta(hours=1), 10.0)))
    while pipeline.messages_seen < 5:
        await asyncio.sleep(0)
    pipeline.use_registry(registry_of(10))  # the second half leaves the directory, half-way through the batch
    assert len(pipeline.registry) == 20, "the batch's households stay until it is committed"
    await handling

    assert pipeline.readings_seen == 40
    assert len(pipeline.registry) == 10 and set(pipeline.states) == set(pipeline.registry.households)
    async with sessions() as session:
        stored = set((await session.execute(select(embedded.MonitorSnapshot.household_id))).scalars())
        dead = await session.scalar(select(func.count()).select_from(DeadLetter))
    assert stored == {f"hh-{i:06d}" for i in range(20)}, "every household the batch judged is committed"
    assert dead == 0


async def test_a_restart_walks_the_resumed_states_with_no_full_pass_of_the_collector(sessions, monkeypatch):
    # A full pass after the states were read walked every resumed object once more: ≈ 30 µs a household, 3 s of
    # CPU at 100,000 households in one stall of the start (benchmarks/city.py's restart; runbook 1.7).
    monkeypatch.setattr(embedded, "FREEZE_FROM", 20, raising=False)
    first = pipeline_of(sessions, 30, "wall")
    await first.start()
    heard_at(first, NOW)
    await first._commit(embedded.Judged(touched=set(first.states)), until_taken=True)

    states_read: list[int] = []
    full_passes_after_a_state: list[int] = []
    loads = embedded.loads

    def counted(blob):  # type: ignore[no-untyped-def]
        states_read.append(1)
        return loads(blob)

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2 and states_read:
            full_passes_after_a_state.append(len(states_read))

    monkeypatch.setattr(embedded, "loads", counted)
    resumed = pipeline_of(sessions, 30, "wall")
    gc.unfreeze()
    gc.callbacks.append(watch)
    try:
        await resumed.start()
    finally:
        gc.callbacks.remove(watch)
        gc.unfreeze()
    assert len(states_read) == 30 and len(resumed.states) == 30
    assert full_passes_after_a_state == [], "a full pass of the collector walked the resumed states"


@pytest.mark.heavy  # 7–10 s: in CI, not in the fast selection
async def test_resuming_states_leaves_no_garbage_cycles_per_household(sessions, monkeypatch):
    # Why the states may be frozen without a collection first: what unpickling leaves for the collector does not
    # grow with the households (else each restart would freeze garbage in proportion to the directory).
    monkeypatch.setattr(embedded, "FREEZE_FROM", 10**9)  # no freeze: the collection below sees everything
    found = {}
    for households in (20, 400):
        first = pipeline_of(sessions, households, "wall")
        await first.start()
        heard_at(first, NOW)
        await first._commit(embedded.Judged(touched=set(first.states)), until_taken=True)
        del first
        gc.collect()
        resumed = pipeline_of(sessions, households, "wall")
        collecting = gc.isenabled()
        gc.disable()
        try:
            await resumed.start()
            found[households] = gc.collect()
        finally:
            if collecting:
                gc.enable()
        assert len(resumed.states) == households
    assert found[400] <= found[20] + 50, f"garbage left by resuming states: {found}"


def day_upload(household: int, first: datetime, readings: int, every: timedelta) -> InboundMessage:
    """One household's NB-IoT upload: both meters' values at ``every`` from ``first``, in one message."""
    values = [
        {"meter_id": f"{kind}-{household:06d}", "at": (first + k * every).isoformat(), "register_m3": 10.0 + 0.01 * k}
        for k in range(readings) for kind in ("g", "w")
    ]
    return InboundMessage("carewatch/v1/gateways/gw-1/readings", orjson.dumps({"v": 1, "readings": values}), 1, 1, NOW)


async def test_an_event_clock_upload_that_ticks_every_household_never_stalls_the_event_loop_50_ms(sessions):
    # The cold start of a city on the event clock (runbook 1.7): the first upload drags the clock across its
    # hours, each step ticks every household inside judging, the first one making every household's monitor.
    # 26–32 s in one go at 50,000 households; here 3,000 (≈ 0.8 s of new monitors, then 11 ticks of ≈ 12 ms; within
    # the hour a new monitor waits before it calls a meter silent, so nothing is raised and the commit stays short).
    pipeline = pipeline_of(sessions, 3_000, "event")
    await pipeline.start()
    gc.collect()
    gc.freeze()  # as running_system does: a full pass over the other tests' objects is no stall of ours
    try:
        began = time.thread_time()
        _, stall = await longest_turn(pipeline.handle([day_upload(7, NOW - timedelta(hours=14), 12, timedelta(minutes=5))]))
        took = time.thread_time() - began
    finally:
        gc.unfreeze()

    assert len(pipeline.states) == 3_000, "every household was ticked"
    assert pipeline.ticks.last == NOW - timedelta(hours=14) + 11 * timedelta(minutes=5) - pipeline.settings.watermark_lateness
    assert took > 2 * STALL_LIMIT_S, f"the upload took {took:.3f} s: too few households to show a stall"
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms while one upload ticked 3,000 households"


async def test_the_monitors_a_cold_start_makes_are_frozen_out_of_the_collectors_full_passes(sessions, monkeypatch):
    # Sliced, the cold start's ticks still stalled the loop once the collector's full passes came: each walked every
    # monitor made so far (0.7 s of CPU at 50,000 households, runbook 1.6), as resumed states did before `start` froze them.
    monkeypatch.setattr(embedded, "FREEZE_MADE", 20, raising=False)  # (raising: so it ran on the code before)
    pipeline = pipeline_of(sessions, 50, "event")
    await pipeline.start()
    gc.unfreeze()
    try:
        await pipeline.handle([day_upload(7, NOW - timedelta(hours=1), 3, timedelta(minutes=5))])
        tracked = {id(o) for o in gc.get_objects()}
        made = [state.monitor for state in pipeline.states.values()]
        frozen = [monitor for monitor in made if id(monitor) not in tracked]
    finally:
        gc.unfreeze()
    assert len(made) == 50
    assert len(frozen) >= 40, f"{len(frozen)} of the 50 monitors made were frozen (every {embedded.FREEZE_MADE} made)"


@pytest.mark.parametrize("archive", [False, True], ids=["archive off", "archive on"])
async def test_committing_a_batch_of_day_long_uploads_never_stalls_the_event_loop_50_ms(sessions, archive):
    # The night bunch (runbook 1.6): a batch of MAX_BATCH NB-IoT uploads, each a household's day of hourly values,
    # books ≈ 50,000 readings' hourly use: spread over their hours and written between two awaits of the commit,
    # ≈ 90 ms of the loop's CPU here, 69–204 ms a batch in city.py at 20,000 households.  With the archive on, the
    # same readings go to the outbox in the commit: ≈ 300 ms of the loop's CPU in one statement before it was in pieces.
    settings = Settings(_env_file=None, clock="event")  # type: ignore[call-arg]
    households = embedded.MAX_BATCH
    archiver = Archiver(sessions, InfluxTarget("http://127.0.0.1:9", "token", "org", "bucket")) if archive else None  # never run
    pipeline = Pipeline(registry=registry_of(households, 3600.0, 86400.0),  # NB-IoT: a day of hourly values a day
                         sessions=sessions, settings=settings, clock=lambda: NOW, archiver=archiver)
    await pipeline.start()
    first = NOW - timedelta(hours=25)
    await pipeline.handle(upload(range(households), first, 10.0))  # every meter's usage cursor is stored
    gc.collect()
    gc.freeze()  # as running_system does: a full pass over the other tests' objects is no stall of ours
    try:
        day = [day_upload(i, first + timedelta(hours=1), 24, timedelta(hours=1)) for i in range(households)]
        began = time.thread_time()
        _, stall = await longest_turn(pipeline.handle(day))
        took = time.thread_time() - began
    finally:
        gc.unfreeze()

    async with sessions() as session:
        booked = await session.scalar(select(func.count()).select_from(HourlyUsage))
    assert booked == households * 2 * 24, "each meter's use is booked to the 24 hours of its day"
    if archive:
        async with sessions() as session:
            queued = await session.scalar(select(func.count()).select_from(ArchiveOutbox))
        assert queued == households * 2 * (1 + 24), "every accepted reading waits in the outbox for InfluxDB"
    assert took > 2 * STALL_LIMIT_S, f"the batch took {took:.3f} s: too few readings to show a stall"
    assert stall < STALL_LIMIT_S, f"the event loop stalled {stall * 1000:.0f} ms while {households} day-long uploads were handled"
