"""The embedded runner: MQTT messages → validation → detectors → alerts, one transaction per batch.

Per batch: readings are validated and judged, then dead letters, counters, alert
transitions, the changed household states and their summaries (reading counts and
learned routine, for the console) are committed in ONE transaction, and only then
are the MQTT messages acknowledged.  A crash anywhere before the
commit makes the broker redeliver; the detectors treat redelivered readings as
duplicates, and alert ids make a repeated transition a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.answers import LOOK_BACK, LOOK_EVERY_S, answered_check_ins
from alerts.lessons import taught_outcomes
from alerts.notifications import Notifications, start_notifications
from alerts.store import AlertStore
from carewatch import metrics
from carewatch.clock import wall_clock
from carewatch.db import make_engine, make_sessions
from carewatch.domain import Detection, Explanation, RejectReason, Tick
from carewatch.runners.collector import start_freezing, stop_freezing
from carewatch.runners.engine import TickSchedule, answered, gateway_heard, judge, new_monitor, refreshed, taught
from carewatch.runners.state import HouseholdState, dumps, loads, summary_of
from carewatch.registry import Registry
from carewatch.retrying import until_it_works
from carewatch.schema import create_schema
from carewatch.settings import Settings
from carewatch.slices import Slices
from ingest.archive import Archiver, InfluxTarget, queue_for_archive
from ingest.models import HouseholdSummary, MonitorSnapshot
from ingest.payload import Rejection
from ingest.records import BatchRecord, DeadLetterEntry, ensure_counters, probe_write, prune_dead_letters, write_batch
from ingest.summaries import store_summaries
from ingest.upsert import Upsert
from ingest.usage import keep_usage, record_usage
from ingest.adapters import subscriptions
from ingest.subscriber import BrokerAddress, InboundMessage, MqttSubscriber
from ingest.translate import translate

log = logging.getLogger(__name__)

MAX_BATCH = 1000
"""Messages taken from the inbox for one transaction: as many as the broker lets go unacknowledged
(deploy/mosquitto.conf.example: max_inflight_messages 1000).  In a backlog a batch then holds several uploads
of a household, and its state is pickled and written once for them all (benchmarks/embedded_ingest.py: 3,500
states written for 25,000 readings in batches of 500, 2,187 in batches of 1,000)."""
COMMIT_ATTEMPTS = 3
"""A batch the database refuses this often, while it takes other writes, is split up message by message."""
STUCK_AFTER_S = 120.0
"""Messages waiting this long with no batch committed make the pipeline not ready."""
PRUNE_EVERY_S = 3600.0
"""How often dead letters past their retention are deleted."""
ANSWERS_EVERY_S = LOOK_EVERY_S
"""How often the elders' answers to check-ins are looked for (alerts.answers), between batches."""
ANSWERS_LOOK_BACK = LOOK_BACK
"""Answers given this long before the pipeline started still reach the monitors (an answer given while it was down)."""
STATES_PER_FETCH = 2000
"""Stored household states fetched at a time at start."""
FREEZE_FROM = 5000
"""Households resumed from which their objects are frozen out of the garbage collector's full passes."""
FREEZE_MADE = 400
"""New monitors made (a cold start makes every household's) after which they are frozen out of those passes too.
The pass before each freeze walks what was made since the last: every 1,000 it kept the loop 26–47 ms of the 50 ms
(55 ms once in a loaded CI run of tests/runners/test_households_at_scale.py), every 400 22–26 ms (2026-12-07)."""
STATES = Upsert(MonitorSnapshot)
"""The changed household states of a batch: one statement, no ORM object per household."""


SLICE_CHECK = 16
"""Households ticked between two looks at the slice's time (16 × ≈ 30 µs ≈ 0.5 ms)."""


@dataclass(slots=True)
class Sweep:
    """A wall-clock tick of every household, done in slices: where it has got to."""

    tick: Tick
    households: list[str]
    position: int = 0


class UndoPoint(NamedTuple):
    """The pipeline's in-memory progress before a batch is judged: what `_undo` restores."""

    newest_event: datetime | None
    ticks_last: datetime | None
    readings_seen: int
    messages_seen: int


@dataclass
class Judged:
    """What judging messages (or a tick) produced, held until it is committed."""

    record: BatchRecord = field(default_factory=BatchRecord)
    detections: list[Detection] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    readings: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(outcome, reason, payload format) → readings: the metrics counted once the batch is committed."""
    refused_messages: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(reason, payload format) → messages refused whole."""
    oldest_arrival: datetime | None = None
    lessons: list[tuple[str, Explanation, datetime]] = field(default_factory=list)
    """What outcomes taught the monitors: (alert id, the words, event time), written on each alert's audit trail."""

    def refused(self, reason: RejectReason, index: int | None, payload_format: str) -> None:
        if index is None:
            self.refused_messages[(str(reason), payload_format)] += 1
        else:
            self.readings[("rejected", str(reason), payload_format)] += 1


class Pipeline:
    def __init__(
        self,
        *,
        registry: Registry,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Callable[[], datetime] = wall_clock,
        archiver: Archiver | None = None,
    ):
        self.registry = registry
        self._sites = _sites_of(registry)
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.alert_store = AlertStore(sessions, clock)
        self.archiver = archiver
        """Drains the archive outbox that each batch fills (None: the archive is off)."""
        self.states: dict[str, HouseholdState] = {}
        self.newest_event: datetime | None = None
        self.ticks = TickSchedule(settings.tick_every)
        self.readings_seen = 0
        self.messages_seen = 0
        self.busy = False
        """True while a batch taken from the inbox is not yet committed and acknowledged."""
        self.progressed_at = time.monotonic()
        """When the pipeline last committed a batch or found its inbox empty (readiness: is it stuck?)."""
        self.pruned_at = -PRUNE_EVERY_S
        self.answers_at = -ANSWERS_EVERY_S
        self._answers_since = clock() - ANSWERS_LOOK_BACK  # answers and outcomes are stamped on this clock
        self._answered: set[str] = set()
        """Check-ins whose answer has reached the monitors (an answer is an event, told once)."""
        self._sweep: Sweep | None = None
        """The wall-clock tick under way, a slice at a time (None: none)."""
        self._handling = False
        """A batch is being judged (in slices) and committed: the households it touched must stay as they are."""
        self._registry_waiting: Registry | None = None
        """A directory changed while a batch was handled: taken on once that batch is committed."""
        self._made = 0
        """Monitors made since the last freeze (`_state`)."""
        self.slices = Slices()
        """The consumer's share of the event loop: everything it does in turn runs in these slices."""

    async def start(self) -> None:
        """Resume every household's stored state: one query, streamed (``yield_per``), no ORM object per row.

        The states are most of what the process holds (≈ 10 KB per household): while they are unpickled the
        cyclic garbage collector is held off (each of its full passes walks every object made so far, so a
        city's states took it ever longer), and once they are in (``FREEZE_FROM`` or more) they are frozen (`gc.freeze`): a
        later full pass walks only what is new, instead of stalling the event loop over 300,000 households' objects.
        The garbage of the start-up is collected before the states are read, not after: a full pass then walked
        every resumed object once more (≈ 30 µs a household, 3 s of CPU at 100,000 in one stall); unpickling
        leaves no garbage cycles per household, so what little it leaves is frozen with the states."""
        async with self.sessions.begin() as session:
            await ensure_counters(session)
            gc.collect()  # what the start-up left behind (the directory read), before the states come
            collecting = gc.isenabled()
            gc.disable()
            try:
                stored = await session.stream(
                    select(MonitorSnapshot.household_id, MonitorSnapshot.state).execution_options(yield_per=STATES_PER_FETCH)
                )
                async for household_id, blob in stored:
                    if household_id not in self.registry.households:
                        continue  # household left the registry: its state is kept in the table, not used
                    state = self.states[household_id] = loads(blob)
                    refreshed(state.monitor, self.registry)
            finally:
                if collecting:
                    gc.enable()
            if len(self.states) >= FREEZE_FROM:
                gc.freeze()
            # States saved by a release before the summaries existed: summarised once, now.
            summarised = set((await session.execute(select(HouseholdSummary.household_id))).scalars())
            await store_summaries(
                session, [summary_of(h, state) for h, state in self.states.items() if h not in summarised], self.clock()
            )
        log.info("resumed detector state of %d households", len(self.states))

    def use_registry(self, registry: Registry) -> None:
        """A changed directory takes effect at once (after the batch being handled, if any): new households are
        watched, changed meters, thresholds and planned absences apply to the running monitors (their learned
        state is kept)."""
        if self._handling:  # between two slices of judging: the batch's households stay until it is committed
            self._registry_waiting = registry
            return
        for household_id in [h for h in self.states if h not in registry.households]:
            del self.states[household_id]  # left the directory: its stored state is kept, not used
        for state in self.states.values():
            refreshed(state.monitor, registry)
        self.registry = registry
        self._sites = _sites_of(registry)

    def status(self) -> dict[str, object]:
        return {
            "messages": self.messages_seen,
            "readings": self.readings_seen,
            "households": len(self.registry),
            "event_time": self.newest_event.isoformat() if self.newest_event else None,
            **({"archive_backlog": self.archiver.backlog} if self.archiver else {}),  # shown only where the archive is on
        }

    async def consume(self, subscriber: Intake) -> None:
        """Run until cancelled: batches from the subscriber's inbox, ticks by the configured clock."""
        while True:
            # Awake at least every ANSWERS_EVERY_S while no message comes: an elder's answer reaches the monitors
            # then, not with whatever reading happens to come next (judged before it, in the same batch).
            wait = ANSWERS_EVERY_S
            if self.settings.clock == "wall":
                wait = min(wait, self.settings.tick_every.total_seconds())
            if self._sweep is None:
                batch = await subscriber.next_batch(MAX_BATCH, wait)
            else:  # a sweep under way: what waits in the inbox, or on with the next slice at once
                batch = [] if subscriber.inbox.empty() else await subscriber.next_batch(MAX_BATCH)
            if batch:
                self.busy = True
                await self.handle(batch)
                for message in batch:
                    subscriber.ack(message)
                self.busy = False
            self.progressed_at = time.monotonic()
            if self.progressed_at - self.pruned_at >= PRUNE_EVERY_S:
                await self.prune()
            if self.progressed_at - self.answers_at >= ANSWERS_EVERY_S:
                await self.take_answers()
            if self.settings.clock == "wall":
                if self._sweep is None:
                    self._start_sweep(self.clock() - self.settings.watermark_lateness)
                if self._sweep is not None:
                    await self._sweep_slice()  # one slice, then the inbox gets its turn
                    await self.slices.give_turn()  # and the rest of the loop (the API, MQTT's hand-off): a slice may not await

    async def prune(self) -> int:
        """Delete dead letters past their retention (none when it is unset) and roll up hourly use past its
        retention (`ingest.usage.keep_usage`); a failure waits for the next time.  Returns the dead letters deleted."""
        self.pruned_at = time.monotonic()
        settings = self.settings
        # On the event clock (replays, the demo) the data's own time says what is old, not the wall clock.
        now = self.clock() if settings.clock == "wall" else self.newest_event
        try:
            if now is not None:
                await keep_usage(self.sessions, now, settings.usage_hourly_retention, settings.usage_daily_retention)
        except Exception:
            log.exception("could not roll up old hourly use; trying again in %.0f s", PRUNE_EVERY_S)
        if settings.dead_letter_retention is None:
            return 0
        try:
            async with self.sessions.begin() as session:
                return await prune_dead_letters(session, self.clock() - settings.dead_letter_retention)
        except Exception:
            log.exception("could not delete old dead letters; trying again in %.0f s", PRUNE_EVERY_S)
            return 0

    def _told_now(self) -> datetime:
        """The time what people and gateways say is told to the monitors at, at most (`engine.told_at`): on the
        event clock (replays, the demo) the newest reading judged, so nothing comes from the detectors' future."""
        return (self.newest_event if self.settings.clock == "event" else None) or self.clock()

    async def take_answers(self) -> int:
        """The elders' "I'm fine" to check-ins, as events to their monitors, committed like a tick; returns how many.

        An answer is read from the alert store (the check-in resolved as safe by the answer link or by staff);
        its time is when it was given, or the pipeline's event time if that is earlier (simulated time in
        the demo and replays: an answer must not come from the detectors' future)."""
        self.answers_at = time.monotonic()
        try:
            async with self.sessions() as session:
                found = await answered_check_ins(session, self._answers_since)
                outcomes = await taught_outcomes(session, self._answers_since)
        except Exception:
            log.exception("could not read the elders' answers; trying again in %.0f s", ANSWERS_EVERY_S)
            return 0
        fresh = [a for a in found if a.alert_id not in self._answered and a.household_id in self.registry.households]
        outcomes = [o for o in outcomes if o.household_id in self.registry.households]
        if not fresh and not outcomes:
            return 0
        now = self._told_now()
        judged = Judged()
        for answer in fresh:
            judged.detections.extend(answered(self._state(answer.household_id).monitor, answer, now))
            judged.touched.add(answer.household_id)
        for heard in outcomes:
            # What was learned goes on the alert's audit trail in the same commit as the taught state.
            words, at = taught(self._state(heard.household_id).monitor, heard, now)
            judged.touched.add(heard.household_id)
            judged.lessons.append((heard.alert_id, words, at))
        await self._commit(judged, until_taken=True)
        self._answered.update(a.alert_id for a in fresh)
        return len(fresh) + len(outcomes)

    async def handle(self, messages: Sequence[InboundMessage]) -> None:
        """Judge a batch and commit its outcome; return when it is durable (the messages may be acknowledged).

        Should the database refuse the batch although it takes other writes (a value it cannot store), the
        batch is judged and committed again one message at a time, and a message it still refuses is kept
        as a dead letter alone: one poison message never holds up the rest, nor the process.
        """
        self._handling = True
        try:
            await self._handle(messages)
        finally:
            self._handling = False
            waiting, self._registry_waiting = self._registry_waiting, None
            if waiting is not None:
                self.use_registry(waiting)

    async def _handle(self, messages: Sequence[InboundMessage]) -> None:
        undo = self._undo_point()
        with metrics.DETECTOR_BATCH.time():
            batch = await self._judge_batch(messages)
        if await self._commit(batch, until_taken=False):
            return
        while not await self._database_writable():  # down or read-only: wait for it, the batch is not to blame
            if await self._commit(batch, until_taken=False):
                return
        await self._undo(undo, batch.touched)
        for message in messages:
            undo = self._undo_point()
            alone = await self._judge_batch([message])
            while not await self._commit(alone, until_taken=False):
                if await self._database_writable():
                    readings = self.readings_seen - undo.readings_seen
                    await self._undo(undo, alone.touched)
                    await self._commit(self._refused(message, readings), until_taken=True)
                    break

    async def _judge_batch(self, messages: Sequence[InboundMessage]) -> Judged:
        """Judge the messages in order, letting the event loop have a turn every SLICE_S (a batch of MAX_BATCH
        messages is ≈ 0.3 s of judging: the API and MQTT's hand-off are served meanwhile)."""
        batch, slices = Judged(), self.slices
        for message in messages:
            await slices.turn()
            self.messages_seen += 1
            batch.record.counters["messages"] += 1
            if batch.oldest_arrival is None or message.received_at < batch.oldest_arrival:
                batch.oldest_arrival = message.received_at
            try:
                await self._judge(message, batch, slices)
            except Exception as exc:  # a fault of ours on this message: it alone becomes a dead letter
                log.exception("could not judge a message on %r", message.topic)
                batch.refused(RejectReason.PROCESSING_ERROR, None, "unknown")
                batch.record.reject(self._dead_letter(message, RejectReason.PROCESSING_ERROR, f"pipeline error: {exc!r}"))
        return batch

    def _refused(self, message: InboundMessage, readings: int) -> Judged:
        """The message as a dead letter alone: its readings are counted as refused, nothing else of it is kept."""
        self.messages_seen += 1
        self.readings_seen += readings
        refused = Judged(oldest_arrival=message.received_at)
        refused.record.counters["messages"] += 1
        refused.readings[("rejected", str(RejectReason.PROCESSING_ERROR), "unknown")] += readings
        if not readings:
            refused.refused(RejectReason.PROCESSING_ERROR, None, "unknown")
        refused.record.counters["readings_rejected"] += readings
        refused.record.dead_letters.append(
            self._dead_letter(message, RejectReason.PROCESSING_ERROR, "the database refused what this message holds")
        )
        return refused

    @staticmethod
    def _dead_letter(message: InboundMessage, reason: RejectReason, detail: str) -> DeadLetterEntry:
        return DeadLetterEntry(message.received_at, message.topic, None, reason, detail, message.payload)

    async def tick(self, at: datetime) -> None:
        """Tick every household at the watermark ``at`` if it reached a new step, a slice at a time (the event
        loop answers between slices), and return when all are ticked and their detections committed."""
        if self._sweep is None:
            self._start_sweep(at)
        while self._sweep is not None:
            await self._sweep_slice()
            await self.slices.give_turn()

    def _start_sweep(self, watermark: datetime) -> None:
        due = self.ticks.due(watermark)
        if due is not None:
            self._sweep = Sweep(Tick(due), list(self.registry.households))

    async def _sweep_slice(self) -> None:
        """Tick the next households of the sweep for at most SLICE_S of CPU, then commit what they detected.

        The wall-clock sweep walks every household (≈ 28 µs each: 8 s at 300,000); in slices, batches of
        readings and the API are served between them.  A household a batch reaches before its slice is
        ticked after those readings, as on the Faust workers (`HouseholdJudge.sweep`): the tick judges the
        absence up to its watermark, which the readings only make less absent."""
        sweep = self._sweep
        assert sweep is not None
        ticked, slices = Judged(), self.slices
        await slices.turn()  # a new slice, unless the one under way has time left
        households, position = sweep.households, sweep.position
        while position < len(households):
            end = min(position + SLICE_CHECK, len(households))
            self._tick_households(sweep.tick, households[position:end], ticked.touched, ticked.detections)
            position = end
            if slices.used_up():
                break
        sweep.position = position
        if position >= len(households):
            self._sweep = None
        if ticked.detections:
            await self._commit(ticked, until_taken=True)

    def _tick_households(self, tick: Tick, households: Iterable[str], touched: set[str], detections: list[Detection]) -> None:
        """One piece of a tick of every household (SLICE_CHECK of them), between two looks at the slice's time."""
        registered = self.registry.households
        for household_id in households:
            if household_id not in registered:
                continue  # left the directory since the sweep began
            emitted = self._state(household_id).monitor.tick(tick)
            if emitted:
                touched.add(household_id)
                detections.extend(emitted)

    async def _tick_due(self, watermark: datetime, batch: Judged, slices: Slices) -> None:
        """The event clock's tick of every household, if ``watermark`` entered a new step: in pieces of SLICE_CHECK
        households with the loop's turn whenever the batch's slice is used up (a day-long upload ticks every
        household dozens of times: 26–32 s in one go at 50,000 households).  The tick is finished before the
        reading after it is judged, so the order of events, and the verdicts, are those of a tick in one go;
        nothing else judges meanwhile (the consumer is here, and a directory change waits for the commit)."""
        due = self.ticks.due(watermark)
        if due is None:
            return
        tick, households = Tick(due), list(self.registry.households)
        for position in range(0, len(households), SLICE_CHECK):
            self._tick_households(tick, households[position : position + SLICE_CHECK], batch.touched, batch.detections)
            await slices.turn()

    async def _judge(self, message: InboundMessage, batch: Judged, slices: Slices) -> None:
        record, detections, touched = batch.record, batch.detections, batch.touched
        translated = translate(message, self.registry, self.settings, self.clock())

        def dead_letter(refusal: Rejection) -> None:
            batch.refused(refusal.reason, refusal.index, translated.payload_format)
            record.reject(
                DeadLetterEntry(
                    message.received_at, message.topic, translated.gateway_id, refusal.reason, refusal.detail,
                    message.payload, refusal.meter_id, refusal.index,
                )
            )

        status = translated.gateway_state(message.received_at)
        if status is not None:
            record.gateway_states[status.gateway_id] = (status.state, message.received_at)
            now = self._told_now()  # timed as an answer is
            for household_id in self.registry.households_on(status.gateway_id):
                gateway_heard(self._state(household_id).monitor, status, now)
                touched.add(household_id)
            return
        if translated.seq is not None and translated.gateway_id is not None:
            record.sequences.append((translated.gateway_id, translated.seq, message.received_at))
        for refusal in translated.refusals:
            dead_letter(refusal)
        for meter_id in translated.unknown_meters:
            record.unknown_meters.append((meter_id, translated.gateway_id, message.received_at))
        self.readings_seen += translated.readings_seen

        # What every reading of the message needs, looked up once for them all (each reading passes here: issue 13).
        counted, accepted = batch.readings, record.accepted
        accepted_key = ("accepted", metrics.NO_REASON, translated.payload_format)
        duplicate_key = ("duplicate", metrics.NO_REASON, translated.payload_format)
        event_clock = self.settings.clock == "event"
        for index, reading in translated.readings:
            moved_on = False
            state = self._state(reading.household_id)
            verdict = judge(state.monitor, reading)
            rejection = verdict.rejection
            if rejection is RejectReason.PROCESSING_ERROR:  # a bug of ours: kept, the stream goes on
                dead_letter(Rejection(rejection, verdict.detail, reading.meter_id, index))
                continue
            touched.add(reading.household_id)
            detections.extend(verdict.detections)
            if rejection is not None:
                dead_letter(Rejection(rejection, verdict.detail, reading.meter_id, index))
            elif verdict.duplicate:
                state.readings_duplicate += 1
                counted[duplicate_key] += 1
            else:
                state.readings_accepted += 1
                counted[accepted_key] += 1
                accepted.append(reading)
                if self.newest_event is None or reading.at > self.newest_event:
                    self.newest_event = reading.at
                    moved_on = True
            # Time passes with each reading, as on the Faust workers: the same alerts however messages are batched.
            # A tick can be due only once the event time moved on (or before the first tick): the others' watermark
            # was asked already.
            if (moved_on or self.ticks.last is None) and self.newest_event is not None and event_clock:
                await self._tick_due(self.newest_event - self.settings.watermark_lateness, batch, slices)

    def _state(self, household_id: str) -> HouseholdState:
        state = self.states.get(household_id)
        if state is None:
            state = self.states[household_id] = HouseholdState(new_monitor(self.registry, household_id))
            self._made += 1
            if self._made >= FREEZE_MADE:
                self._freeze_made()
        return state

    def _freeze_made(self) -> None:
        """Freeze the monitors made so far out of the cyclic collector's full passes, as `start` freezes resumed ones.

        A cold start makes every household's monitor (the event clock's first ticks, the gateways' first words):
        each full pass the collector made meanwhile walked every monitor made so far, in one stall of the event loop
        (0.7 s of CPU at 50,000 households, seconds on a busy machine), which no slicing of ours can split.  A pass
        over what is new since the last freeze (≈ FREEZE_MADE monitors and the garbage beside them) comes
        first, so only what is alive is frozen; frozen objects are still freed when their last reference goes, and
        `running_system` gives them back to the collector when it stops."""
        self._made = 0
        gc.collect()
        gc.freeze()

    async def _commit(self, batch: Judged, *, until_taken: bool) -> bool:
        """Commit a batch's outcome in one transaction.  ``until_taken``: retry until the database takes it
        (what keeps "nothing accepted is lost": the messages stay unacknowledged, the broker holds the rest);
        otherwise give up after COMMIT_ATTEMPTS and say so (False)."""
        changed = [(household_id, self.states[household_id]) for household_id in batch.touched]
        snapshots, summaries, slices = [], [], self.slices
        for household_id, state in changed:  # ≈ 0.1 ms each: a batch of 1,000 households is sliced too
            snapshots.append((household_id, dumps(state)))
            summaries.append(summary_of(household_id, state))
            await slices.turn()  # nothing judges meanwhile: the consumer is here

        async def commit() -> None:
            async with self.sessions.begin() as session:
                # Every write that grows with the batch is in pieces, the loop's turn between them once the slice is used.
                await write_batch(session, batch.record)
                if self.archiver:
                    await queue_for_archive(session, batch.record.accepted, self._sites, slices.turn)
                await record_usage(session, batch.record.accepted, slices.turn)  # ≈ 3 µs a reading: 150 ms for a day-long batch
                await self.alert_store.apply(batch.detections, session=session)
                await self.alert_store.record_lessons(session, batch.lessons)
                now = self.clock()
                states = ({"household_id": household_id, "state": state, "updated_at": now} for household_id, state in snapshots)
                await STATES.write(session, states, slices.turn)
                await store_summaries(session, summaries, now, slices.turn)

        def refused(error: BaseException, wait: float) -> None:
            log.error("could not commit a batch; retrying in %.1f s", wait, exc_info=error)

        try:
            await until_it_works(commit, refused, attempts=None if until_taken else COMMIT_ATTEMPTS)
        except Exception:
            log.exception("the database refused a batch %d times", COMMIT_ATTEMPTS)
            return False
        self._count(batch)
        return True

    def _count(self, batch: Judged) -> None:
        """The metrics of a committed batch (one judged but not committed is judged again, and counted then)."""
        metrics.count_readings(batch.readings)
        metrics.count_refused_messages(batch.refused_messages)
        if batch.oldest_arrival is not None:
            metrics.INGEST_LAG.observe((self.clock() - batch.oldest_arrival).total_seconds())
        if self.newest_event is not None:
            metrics.NEWEST_READING.set(self.newest_event.timestamp())

    async def _database_writable(self) -> bool:
        """Whether the database takes a write at all (else it is down or read-only: wait, do not blame a message)."""
        try:
            async with self.sessions.begin() as session:
                await ensure_counters(session)
                await probe_write(session)
            return True
        except Exception:
            log.exception("the database takes no write")
            await asyncio.sleep(1.0)
            return False

    def _undo_point(self) -> UndoPoint:
        return UndoPoint(self.newest_event, self.ticks.last, self.readings_seen, self.messages_seen)

    async def _undo(self, undo: UndoPoint, touched: Iterable[str]) -> None:
        """Forget what judging a batch did in memory: its households' states go back to what is stored."""
        self.newest_event, self.ticks.last, self.readings_seen, self.messages_seen = undo
        households = list(touched)
        for household_id in households:
            self.states.pop(household_id, None)  # never stored: a new state, as before the batch
        async with self.sessions() as session:
            stored = (
                await session.execute(select(MonitorSnapshot).where(MonitorSnapshot.household_id.in_(households)))
            ).scalars()
            for snapshot in stored:
                state = self.states[snapshot.household_id] = loads(snapshot.state)
                refreshed(state.monitor, self.registry)


def _sites_of(registry: Registry) -> dict[str, str]:
    """Household → site, for the archive (made once per directory, not per batch)."""
    return {household_id: household.site for household_id, household in registry.households.items()}


@dataclass
class RunningSystem:
    """A started pipeline with its database sessions and MQTT subscriber."""

    pipeline: Pipeline
    sessions: async_sessionmaker[AsyncSession]
    subscriber: MqttSubscriber
    consumer: asyncio.Task[None]
    archiving: asyncio.Task[None] | None = None
    notifications: Notifications | None = None
    intake: Intake | None = None
    """What the pipeline takes its batches from, when not straight from the subscriber (``running_system``'s ``lockstep``)."""

    def readiness(self) -> list[str]:
        """What keeps the pipeline from its job now (/readyz): empty when it is ready."""
        problems = []
        if self.consumer.done():
            problems.append("the pipeline stopped")
        if self.archiving and self.archiving.done():
            problems.append("the archive to InfluxDB stopped")
        if not self.subscriber.connected.is_set():
            problems.append("not connected and subscribed to the MQTT broker")
        stalled_s = time.monotonic() - self.pipeline.progressed_at
        if not self.subscriber.inbox.empty() and stalled_s > STUCK_AFTER_S:
            problems.append(f"messages have waited {stalled_s:.0f} s without a batch committed")
        return problems

    async def drain(self, expected_readings: int, timeout: float = 120.0) -> None:
        """Wait until the pipeline has judged ``expected_readings`` readings and committed them."""
        deadline = time.monotonic() + timeout
        while self.pipeline.readings_seen < expected_readings or self.pipeline.busy:
            if self.consumer.done():
                self.consumer.result()  # re-raise what stopped the pipeline
                raise RuntimeError("the pipeline stopped")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the pipeline judged {self.pipeline.readings_seen} of {expected_readings} readings in {timeout:.0f} s"
                )
            await asyncio.sleep(0.05)


class Intake(Protocol):
    """Where `Pipeline.consume` takes its batches from: the MQTT subscriber, or what stands before it."""

    inbox: asyncio.Queue[InboundMessage]

    async def next_batch(self, max_messages: int, wait: float | None = None) -> list[InboundMessage]: ...

    def ack(self, message: InboundMessage) -> None: ...


@asynccontextmanager
async def running_system(
    settings: Settings, registry: Registry, broker: BrokerAddress, client_id: str | None = None,
    clock: Callable[[], datetime] | None = None,
    lockstep: Callable[[MqttSubscriber], Intake] | None = None,
) -> AsyncIterator[RunningSystem]:
    """``clock``: one clock for the alert store, the household states and the ladder (the console demo's
    simulated time); by default the store reads the wall clock and the ladder the clock in settings.
    ``lockstep``: the caller paces the pipeline and the ladder (the headless demo): the pipeline takes its batches
    from the intake this makes of the subscriber, and no task runs the ladder or sends its messages
    (``RunningSystem.notifications.catch_up`` does)."""
    engine = make_engine(settings.database_url)
    await create_schema(engine)
    sessions = make_sessions(engine)
    target = InfluxTarget.of(settings)
    archiver = Archiver(sessions, target) if target else None
    pipeline = Pipeline(registry=registry, sessions=sessions, settings=settings, archiver=archiver, clock=clock or wall_clock)
    await pipeline.start()
    notifications = await start_notifications(
        settings, sessions, pipeline.alert_store, lambda: pipeline.newest_event, clock, tasks=lockstep is None
    )
    subscriber = MqttSubscriber(
        broker, client_id or settings.mqtt_client_id, settings.mqtt_topic_prefix,
        extra_topics=subscriptions(settings.integrations, settings.mqtt_topic_prefix),
        keepalive_s=int(settings.mqtt_keepalive.total_seconds()), clock=pipeline.clock,
    )
    await subscriber.start()
    # What exists now lives as long as the system (modules, the directory, the resumed states): frozen out of the
    # cyclic collector's full passes, which walked all of it every few batches (≈ 7 % of the CPU per reading);
    # and from now on what survives each full pass too (`carewatch.runners.collector`).
    start_freezing()
    intake = lockstep(subscriber) if lockstep else None
    consumer = asyncio.create_task(pipeline.consume(intake or subscriber), name="carewatch-pipeline")
    archiving = asyncio.create_task(archiver.run(), name="carewatch-archive") if archiver else None
    try:
        yield RunningSystem(pipeline, sessions, subscriber, consumer, archiving, notifications, intake)
    finally:
        stop_freezing()
        for task in (consumer, archiving):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await subscriber.stop()
        await notifications.stop()
        await engine.dispose()
        # Back to the collector, what the system made may be garbage once it stops; last, and without the states
        # (stored with each batch, freed here as their references go): unfrozen with them, the next full pass walked
        # every household's objects while the MQTT connection was still open (7 s of CPU at 100,000 households).
        pipeline.states.clear()
        gc.unfreeze()
