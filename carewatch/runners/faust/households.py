"""A worker's judging: readings and sweeps over its households, with nothing lost and nothing doubled.

Readings come in batches (`on_readings`, from `Stream.take_events`); the order of effects
for every batch of readings and every sweep of households:

1. put back the records the stream skipped (below), then judge with the shared engine
   (`carewatch.runners.engine`), reading after reading, ticking where the event time reaches a
   new step (replays), exactly as one reading at a time;
2. send the batch's detections and dead letters, in order, and wait until Kafka
   acknowledged them all;
3. only then save each changed household's state once in the table (its changelog)
   and wait until Kafka acknowledged those records too;
4. then save each partition's mark (the offset after the last record judged in it);
5. return: only now does Faust ack the batch's events, so only now may their offsets
   be committed.

A crash before 3 leaves the old states: the batch is judged again after the restart
and its detections are sent again — harmless, alert ids come from household, type
and onset.  A crash after 3 finds the readings already in the states (skipped by the
household's offset), but their detections were acknowledged in 2.  Records below the
mark are skipped whole.  Should anything but the detectors (whose errors `judge` turns
into verdicts) raise while a batch is judged, nothing has been sent or saved yet: the
batch's in-memory effects are undone and its readings are judged one at a time, each
sent and saved before the next, so only the reading at fault goes to the dead-letter topic.

Faust's own acks are not trusted for completeness: around a rebalance it acks and drops
records it had fetched (flow control suspended, or an older generation) and may commit
past them.  A record beyond the partition's mark therefore means a gap, read straight
from Kafka and judged first; a gap at the end of a partition, with no later record to
reveal it, is found by the sweep: the group committed past the mark (`catch_up`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from alerts.wire import encode_detection
from carewatch.clock import wall_clock
from carewatch.domain import Reading, RejectReason, Tick
from carewatch.runners.engine import TickSchedule, judge, new_monitor, refreshed
from carewatch.kafka import partition_of
from carewatch.registry import Registry
from carewatch.retrying import until_it_works
from carewatch.settings import Settings
from carewatch.runners.faust.records import HouseholdState, mark_key
from carewatch.runners.faust.tables import put
from ingest.wire import BadRecord, DeadLetterRecord, decode_reading

log = logging.getLogger(__name__)

CACHE_SIZE = 200_000
"""Monitors kept unpickled between readings (a table value is pickled bytes)."""

CATCH_UP_MAX = 5000
"""Records a sweep reads from Kafka at most when the stream stopped delivering a partition."""

SWEEP_CHUNK = 1000
"""Households ticked, sent and saved together by a timer sweep before readings get a turn."""


class Sender(Protocol):
    async def __call__(self, key: bytes, value: bytes) -> Any: ...


class KafkaMessage(Protocol):
    topic: str
    partition: int
    offset: int
    value: bytes | None


class RangeReader(Protocol):
    async def __call__(self, partition: int, start: int, end: int) -> Sequence[KafkaMessage]:
        """The readings partition's records at offsets [start, end) that Kafka still keeps."""



@dataclass(slots=True)
class _Loaded:
    partition: int
    blob: bytes | None
    """The table's value when loaded (None: no state saved yet)."""
    state: HouseholdState
    save: bool = False
    """A reading changed the state: saved at the end of the batch."""
    save_if_changed: bool = False
    """A tick raised something or was the first in this process: saved if its bytes changed."""


@dataclass(slots=True)
class _Batch:
    """What judging a batch produced, held back until the batch is done: nothing sent or saved before."""

    sends: list[tuple[Sender, bytes, bytes]] = field(default_factory=list)
    """Detections and dead letters, in the order they arose."""
    dead_letters: int = 0
    loaded: dict[str, _Loaded] = field(default_factory=dict)
    """Every household loaded in the batch (one object each, however often it appears)."""
    ticked: list[str] = field(default_factory=list)
    """Households ticked for the first time in this process by this batch."""
    reading: Reading | None = None
    """The reading being judged (for the dead letter if judging it fails)."""
    marks: dict[int, int] = field(default_factory=dict)
    """Per partition, the offset after the last record the batch judged: saved after the states."""


class _BatchFailed(Exception):
    """Judging a batch raised (not a detector: `judge` turns their errors into verdicts); undone."""

    def __init__(self, error: Exception, reading: Reading | None) -> None:
        super().__init__(repr(error))
        self.error = error
        self.reading = reading


class HouseholdJudge:
    """The per-worker state that is not in the table: caches, watermarks, and the tick grid per partition."""

    def __init__(
        self,
        *,
        registry: Registry,
        settings: Settings,
        table: Any,
        send_detection: Sender,
        send_dead_letter: Sender,
        read_range: RangeReader,
        clock=wall_clock,  # type: ignore[no-untyped-def]
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.table = table
        self.send_detection = send_detection
        self.send_dead_letter = send_dead_letter
        self.read_range = read_range
        self.clock = clock
        self.households_of: dict[int, list[str]] = {}
        for household_id in sorted(registry.households):
            self.households_of.setdefault(partition_of(household_id, settings.kafka_partitions), []).append(household_id)
        self.newest_event: dict[int, datetime] = {}
        self.judged_next: dict[int, int] = {}
        """Per partition, the offset after the newest record judged in this process."""
        self.started_from: dict[int, int] = {}
        """Per partition, the group's committed offset when this worker was given it: where it began reading."""
        self.highwater_at_sweep: dict[int, int | None] = {}
        """Per partition, its end as the previous timer sweep saw it (replays: is it idle?)."""
        self.schedules: dict[int, TickSchedule] = {}
        self._cache: OrderedDict[str, tuple[bytes, HouseholdState]] = OrderedDict()
        self._lock = asyncio.Lock()
        self._ticked: set[str] = set()
        self._unmoved: dict[int, int] = {}
        """Per partition, its mark at the previous sweep while Kafka held records beyond it."""
        self.readings_judged = 0
        self.redelivered = 0
        self.dead_letters_sent = 0
        self.records_read_back = 0

    # --- readings -----------------------------------------------------------------------

    async def on_readings(self, messages: Sequence[KafkaMessage]) -> None:
        """Judge a batch of records of the readings topic (see the module docstring), after the records
        the stream skipped before them.  Never raises for a record: what cannot be judged is dead-lettered."""
        async with self._lock:
            await self._judge_all(await self._with_skipped(messages))

    async def _judge_all(self, messages: Sequence[KafkaMessage]) -> None:
        try:
            await self._judge_batch(messages)
        except _BatchFailed:
            for message in messages:
                await self._judge_one(message)

    async def _judge_one(self, message: KafkaMessage) -> None:
        """Judge one record, sent and saved before returning (a batch of one).  If judging it
        fails, it goes to the dead-letter topic with the error."""
        try:
            await self._judge_batch([message])
        except _BatchFailed as failed:
            # Faust would ack the event and move on silently: keep it on the dead-letter topic instead.
            batch = _Batch()
            self._hold_dead_letter(batch, message, RejectReason.PROCESSING_ERROR, f"worker error: {failed.error!r}", failed.reading)
            self._passed(batch, message)
            await self._finish(batch)

    async def _judge_batch(self, messages: Sequence[KafkaMessage]) -> None:
        undo = self._undo_point()
        batch = _Batch()
        try:
            for message in messages:
                self._take(batch, message)
        except Exception as exc:
            log.exception(
                "could not judge %s[%d]@%d (in a batch of %d)", message.topic, message.partition, message.offset, len(messages)
            )
            self._undo(undo, batch)  # the monitors may be half-changed: reload them from the table
            raise _BatchFailed(exc, batch.reading) from exc
        await self._finish(batch)

    def _take(self, batch: _Batch, message: KafkaMessage) -> None:
        """Judge one record into the batch: nothing is sent or saved here."""
        partition = message.partition
        if message.offset < self._mark(batch, partition):
            self.redelivered += 1  # judged before (a restart or rebalance delivers from the last commit)
            return
        try:
            batch.reading = None
            try:
                reading = decode_reading(message.value)
            except BadRecord as exc:
                self._hold_dead_letter(batch, message, RejectReason.SCHEMA_VIOLATION, str(exc))
                return
            batch.reading = reading
            accepted = self._judge_into(batch, message, reading)
            self.readings_judged += 1
            if accepted and reading.at > self.newest_event.get(partition, reading.at - self.settings.tick_every):
                self.newest_event[partition] = reading.at
            if self.settings.clock == "event":
                due = self._due(partition)
                if due is not None:
                    self._tick_into(batch, partition, self.households_of.get(partition, ()), due)
        finally:
            self._passed(batch, message)

    def _passed(self, batch: _Batch, message: KafkaMessage) -> None:
        batch.marks[message.partition] = max(batch.marks.get(message.partition, 0), message.offset + 1)
        self.judged_next[message.partition] = max(self.judged_next.get(message.partition, 0), message.offset + 1)

    def _judge_into(self, batch: _Batch, message: KafkaMessage, reading: Reading) -> bool:
        if reading.household_id not in self.registry.households:
            self._hold_dead_letter(
                batch,
                message,
                RejectReason.UNKNOWN_METER,
                f"household {reading.household_id} is not in this worker's registry; "
                "give the bridge and the workers the same CAREWATCH_REGISTRY_PATH",
                reading,
            )
            return False
        loaded = self._load_into(batch, message.partition, reading.household_id)
        state = loaded.state
        if message.offset <= state.offset:
            # Redelivered after a crash or rebalance: judged, sent and saved before. Judging it again
            # would be harmless for alerts, but a reading older than the kept history would count twice.
            self.redelivered += 1
            return False
        verdict = judge(state.monitor, reading)
        for detection in verdict.detections:
            batch.sends.append((self.send_detection, detection.household_id.encode(), encode_detection(detection)))
        if verdict.rejection is not None:
            self._hold_dead_letter(batch, message, verdict.rejection, verdict.detail, reading)
        elif verdict.duplicate:
            state.readings_duplicate += 1
        else:
            state.readings_accepted += 1
        state.offset = message.offset
        loaded.save = True
        return verdict.accepted

    # --- records the stream did not deliver ---------------------------------------------

    def _mark(self, batch: _Batch | None, partition: int) -> int:
        """The offset after the last record of the partition judged (saved, or in this batch)."""
        if batch is not None and partition in batch.marks:
            return batch.marks[partition]
        saved = self.table.get(mark_key(partition))
        return int(saved) if saved is not None else 0

    async def _with_skipped(self, messages: Sequence[KafkaMessage]) -> list[KafkaMessage]:
        """The batch with the records the stream skipped put back before the record that follows them.

        Faust acks and drops records it fetched before a rebalance (flow control suspended, or an
        older generation), and may then commit past them: such a reading would be lost without a
        trace.  The partition's mark, saved in the table after the states, says where judging
        stopped; a record beyond it means a gap, read here straight from Kafka.
        """
        marks: dict[int, int] = {}
        complete: list[KafkaMessage] = []
        for message in messages:
            partition = message.partition
            mark = marks[partition] if partition in marks else self._mark(None, partition)
            if message.offset > mark:
                complete += await self._read_skipped(partition, mark, message.offset)
            complete.append(message)
            marks[partition] = max(mark, message.offset + 1)
        return complete

    async def _read_skipped(self, partition: int, start: int, end: int) -> Sequence[KafkaMessage]:
        def unread(error: BaseException, wait: float) -> None:  # no way on without them: Kafka is down, and so is the stream
            log.error("could not read offsets %d..%d of readings partition %d (skipped by the stream), retrying: %r",
                      start, end - 1, partition, error)

        records = await until_it_works(lambda: self.read_range(partition, start, end), unread, cap=10.0)
        log.warning("the stream skipped offsets %d..%d of readings partition %d: %d records read from Kafka",
                    start, end - 1, partition, len(records))
        self.records_read_back += len(records)
        return records

    def stalled(self, partition: int, highwater: int | None) -> bool:
        """Asked once per sweep: Kafka has held records beyond the partition's mark since the previous
        sweep and none was judged meanwhile.  Then the stream may have dropped them (see `catch_up`)."""
        mark = self._mark(None, partition)
        if highwater is None or mark >= highwater:
            self._unmoved.pop(partition, None)
            return False
        unmoved = self._unmoved.get(partition) == mark
        self._unmoved[partition] = mark
        return unmoved

    async def catch_up(self, partition: int, committed: int) -> int:
        """Judge the records the group committed past without this worker judging them: dropped by
        the stream at the end of a partition, where no later record reveals the gap.  Returns how many."""
        async with self._lock:
            mark = self._mark(None, partition)
            if committed <= mark:
                return 0
            records = await self._read_skipped(partition, mark, min(committed, mark + CATCH_UP_MAX))
            await self._judge_all(records)
            return len(records)

    # --- the passage of time ------------------------------------------------------------

    def watermark(self, partition: int, behind: bool = False, idle: bool = False) -> datetime | None:
        """No more readings are expected on this partition before this time.

        On the wall clock that is now minus the lateness — unless this worker is ``behind``
        (reading a backlog, e.g. after an outage): then, as in a replay, the newest event time
        judged on the partition, so that queued readings are never taken for silence.  In a
        replay a partition that is ``idle`` (nothing new to read for a sweep, all judged) follows the
        newest event time of this worker's partitions: a partition whose households all fell
        silent gets no readings, and its own event time would stop with them.
        """
        if self.settings.clock == "wall" and not behind:
            return self.clock() - self.settings.watermark_lateness
        newest = self.newest_event.get(partition)
        if idle and self.newest_event:
            newest = max(self.newest_event.values())
        return None if newest is None else newest - self.settings.watermark_lateness

    def _due(self, partition: int, behind: bool = False, idle: bool = False) -> datetime | None:
        watermark = self.watermark(partition, behind, idle)
        if watermark is None:
            return None
        return self.schedules.setdefault(partition, TickSchedule(self.settings.tick_every)).due(watermark)

    async def sweep(self, partition: int, behind: bool = False, idle: bool = False) -> int:
        """Tick every household of the partition if its watermark reached a new step; returns detections sent."""
        due = self._due(partition, behind, idle)
        if due is None:
            return 0
        households = self.households_of.get(partition, ())
        sent = 0
        for start in range(0, len(households), SWEEP_CHUNK):
            async with self._lock:
                batch = _Batch()
                sent += self._tick_into(batch, partition, households[start : start + SWEEP_CHUNK], due)
                await self._finish(batch)
            if start + SWEEP_CHUNK < len(households):
                await asyncio.sleep(0)  # let readings through during a long sweep
        return sent

    def _tick_into(self, batch: _Batch, partition: int, households: Sequence[str], due: datetime) -> int:
        detected = 0
        for household_id in households:
            loaded = self._load_into(batch, partition, household_id)
            detections = loaded.state.monitor.tick(Tick(due))
            for detection in detections:
                batch.sends.append((self.send_detection, detection.household_id.encode(), encode_detection(detection)))
            # Pickling every household at every tick costs more than the tick. Without a
            # detection a tick changes little: the first one fixes when this monitor started
            # watching (saved once per process), later ones widen a raised alert to more
            # silent meters, which the next tick after a restart recomputes anyway.
            if detections or household_id not in self._ticked:
                loaded.save_if_changed = True
                if household_id not in self._ticked:
                    self._ticked.add(household_id)
                    batch.ticked.append(household_id)
            detected += len(detections)
        return detected

    def caught_up(self, partition: int, highwater: int | None) -> bool:
        """Whether every record of the partition that Kafka holds has been judged here.

        On the wall clock, silence may only be judged then: after an outage the backlog queued
        in Kafka is evidence still to be read, not silence.  ``highwater`` is the partition's
        end as the last fetch saw it.  Before the first record judged here, the offset the
        worker began reading at says whether anything was there to judge — not the consumer's
        position: records fetched are not yet judged (they wait in Faust's buffers and in the
        agent's batch), and taking them for judged once raised false meter_silent alerts.
        """
        judged = self.judged_next.get(partition, self.started_from.get(partition))
        return highwater is not None and judged is not None and judged >= highwater

    def idle(self, partition: int, highwater: int | None) -> bool:
        """In a replay: nothing arrived on the partition since the previous sweep, and all of it is judged.

        Asked once per sweep.  A partition merely caught up for a moment (its next records not yet
        fetched while other partitions' are) is not idle: following their event time then would
        take readings in flight for silence.
        """
        previous = self.highwater_at_sweep.get(partition)
        self.highwater_at_sweep[partition] = highwater
        return highwater is not None and previous == highwater and self.caught_up(partition, highwater)

    def forget(self, partitions: Sequence[int]) -> None:
        """Partitions went to another worker: their event time, tick grid and position are no longer ours."""
        for partition in partitions:
            self.highwater_at_sweep.pop(partition, None)
            self.newest_event.pop(partition, None)
            self.schedules.pop(partition, None)
            self.judged_next.pop(partition, None)
            self.started_from.pop(partition, None)

    # --- state --------------------------------------------------------------------------

    def _load(self, household_id: str) -> tuple[bytes | None, HouseholdState]:
        blob = self.table.get(household_id.encode())
        cached = self._cache.get(household_id)
        if cached is not None and blob is not None and cached[0] == blob:
            self._cache.move_to_end(household_id)
            return blob, cached[1]
        if blob is None:
            state = HouseholdState(new_monitor(self.registry, household_id))
        else:
            state = HouseholdState.loads(blob)
            refreshed(state.monitor, self.registry)
        return blob, state

    def _load_into(self, batch: _Batch, partition: int, household_id: str) -> _Loaded:
        loaded = batch.loaded.get(household_id)
        if loaded is None:
            blob, state = self._load(household_id)
            loaded = batch.loaded[household_id] = _Loaded(partition, blob, state)
        return loaded

    async def _finish(self, batch: _Batch) -> None:
        """Send the batch's detections and dead letters, then save its changed states (module docstring)."""
        if batch.sends:
            await asyncio.gather(*(send(key, value) for send, key, value in batch.sends))
            self.dead_letters_sent += batch.dead_letters
        saved = []
        for household_id, loaded in batch.loaded.items():
            if loaded.save or loaded.save_if_changed:
                after = loaded.state.dumps()
                if loaded.save or after != loaded.blob:
                    saved.append(self._write(loaded.partition, household_id, loaded.state, after))
                    continue
            if loaded.blob is not None:
                self._remember(household_id, loaded.blob, loaded.state)
        if saved:
            await asyncio.gather(*saved)  # acknowledged by Kafka before Faust may commit the batch's offsets
        # The marks only after the states: a mark must never promise readings a state does not hold.
        marks = [self._save(p, mark_key(p), str(mark).encode()) for p, mark in batch.marks.items() if mark != self._mark(None, p)]
        if marks:
            await asyncio.gather(*marks)

    def _undo_point(self) -> tuple[Any, ...]:
        return (
            dict(self.newest_event),
            dict(self.judged_next),
            {partition: (schedule, schedule.last) for partition, schedule in self.schedules.items()},
            (self.readings_judged, self.redelivered),
        )

    def _undo(self, undo: tuple[Any, ...], batch: _Batch) -> None:
        """Forget what judging the batch did in memory (nothing was sent or saved)."""
        newest_event, judged_next, schedules, (self.readings_judged, self.redelivered) = undo
        self.newest_event, self.judged_next = newest_event, judged_next
        self.schedules = {partition: schedule for partition, (schedule, _) in schedules.items()}
        for schedule, last in schedules.values():
            schedule.last = last
        for household_id in batch.loaded:
            self._cache.pop(household_id, None)  # monitors the batch changed: reload them from the table
        self._ticked.difference_update(batch.ticked)

    async def _write(self, partition: int, household_id: str, state: HouseholdState, blob: bytes) -> None:
        """Save and wait until Kafka acknowledged the changelog record.

        Straight to Faust's producer with the bytes as they are (the table's codecs are raw),
        not through `Table.send_changelog`: its buffer hands records over one at a time and
        throttles the consumer once 100 wait, and Faust's per-message wrapping costs more than
        the record.  Then what `Table.send_changelog`'s callback does: note the changelog
        offset in the store (RocksDB keeps it to know what it holds after a restart).
        """
        self._remember(household_id, blob, state)
        await self._save(partition, household_id.encode(), blob)

    async def _save(self, partition: int, key: bytes, blob: bytes) -> None:
        put(self.table, partition, key, blob)
        delivered = await self.table.app.producer.send(
            self.table.changelog_topic.get_topic_name(), key, blob, partition, None, None
        )
        metadata = await delivered
        self.table.data.set_persisted_offset(metadata.topic_partition, metadata.offset)

    def _remember(self, household_id: str, blob: bytes, state: HouseholdState) -> None:
        self._cache[household_id] = (blob, state)
        self._cache.move_to_end(household_id)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    # --- dead letters -------------------------------------------------------------------

    def _hold_dead_letter(
        self, batch: _Batch, message: KafkaMessage, reason: RejectReason, detail: str, reading: Reading | None = None
    ) -> None:
        batch.sends.append((self.send_dead_letter, *self._dead_letter_record(message, reason, detail, reading)))
        batch.dead_letters += 1

    def _dead_letter_record(
        self, message: KafkaMessage, reason: RejectReason, detail: str, reading: Reading | None
    ) -> tuple[bytes, bytes]:
        record = DeadLetterRecord(
            received_at=self.clock(),
            stage="worker",
            source=f"{message.topic}[{message.partition}]@{message.offset}",
            reason=reason,
            detail=detail,
            payload=message.value or b"",
            meter_id=reading.meter_id if reading else None,
        )
        key = (reading.household_id if reading else f"{message.topic}-{message.partition}").encode()
        return key, record.encode()
