"""Judging a batch of readings records, or a sweep of households, into what is to be sent and saved: no I/O.

`Judging.judge` turns records of the readings topic into a `Judged`: the detections and dead
letters to send, in the order they arose, the households' states and the partitions' marks to
save.  A record is an upload (the readings one MQTT message brought for one household, judged
in order, its state saved once) or, written before uploads, one reading (`ingest.wire`).
`Judging.writes` adds a summary record (reading counts, learned routine) for every state
saved.  Nothing is sent or saved here (`carewatch.runners.faust.households` does that, in order);
the table is only read, through its ``get``.  Records below their partition's mark, and readings
at or below their household's saved offset, were judged before (a restart or a rebalance
delivers from the last commit) and are skipped.  A record that does not decode, or of a household
this worker does not know, becomes a dead letter; so does a reading of an upload that does not
decode, alone (its index and its own JSON in the dead letter); a detector's error becomes a dead
letter too (`carewatch.runners.engine.judge`).  Anything else that raises undoes the batch in
memory and raises `BatchFailed` (with the reading it was judging): nothing of it has been sent or
saved; judged again alone with that reading set aside (``poisoned``), the record's other readings
are judged and that one is dead-lettered with the error.

A record of the readings topic may instead tell a household its gateway's status (`ingest.wire`, v3:
online, or offline by its last will): told to its monitor (`carewatch.runners.engine.gateway_heard`)
at the time the bridge received it, or the partition's event time if that is earlier, and the state saved.

`Judging.hear` turns records of the answers topic (`alerts.heard`: an elder's answer to a check-in,
an outcome that teaches, published by the alert service) into a `Judged` the same way: told to the
household's monitor through `carewatch.runners.engine` as the embedded runner tells it, the
detections it then emits to send, the record's receipt sent after them (`alerts.wire.Learned`: what an
outcome taught; `alerts.wire.Heard`: the answer heard; for the alert's audit trail, and the alert
service offers the record until it is there), and the household's state to save.  The state keeps
the record's id (`HouseholdState.heard`): one heard before is not told again, so each reaches the
monitor once; a repeat answer gets its receipt again (the receipt of a state saved before answers had
receipts, which the alert service would otherwise offer for its whole look-back).
"""

from __future__ import annotations

import enum
import logging
from collections import OrderedDict
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from alerts.heard import BadHeard, HeardRecord
from alerts.wire import Heard, Learned, Receipt, encode_detection
from carewatch.clock import wall_clock
from carewatch.domain import CheckInAnswer, Detection, Reading, RejectReason, Tick
from carewatch.kafka import partition_of
from carewatch.registry import Registry
from carewatch.runners.engine import answered, gateway_heard, judge, new_monitor, refreshed, taught, told_at
from carewatch.runners.faust.progress import Progress
from carewatch.runners.faust.records import mark_key
from carewatch.runners.state import HouseholdState, dumps, loads, summary_of
from carewatch.settings import Settings
from ingest.wire import BadReading, BadRecord, DeadLetterRecord, DecodedRecord, decode_record, reading_entry

log = logging.getLogger(__name__)

_UNASKED = object()
"""`Judged.asked` has no time for the partition yet (None is a time: the partition has none)."""

CACHE_SIZE = 200_000
"""Monitors kept unpickled between readings (a table value is pickled bytes)."""

T = TypeVar("T")

Steps = Generator[None, None, T]
"""Work done in steps (`Judging.judge_steps`, `tick_steps`, `writes_steps`): it stops (yields) between two readings or
two households whenever its ``pause`` says so, for the caller to give the event loop a turn
(`carewatch.slices.Slices`: ``pause`` is its ``used_up``), and returns its result; no I/O here."""


def never() -> bool:
    """A ``pause`` for work done in one go."""
    return False


def done(steps: Steps[T]) -> T:
    """The result of work done in steps, in one go (however often its ``pause`` says to stop)."""
    while True:
        try:
            next(steps)
        except StopIteration as finished:
            return finished.value


class KafkaMessage(Protocol):
    topic: str
    partition: int
    offset: int
    value: bytes | None


class To(enum.Enum):
    DETECTIONS = "detections"
    """Detections, and the receipts of what people said (`alerts.wire.Learned`, `alerts.wire.Heard`)."""
    DEAD_LETTERS = "dead letters"
    SUMMARIES = "household summaries"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A record for the detections, dead-letter or household-summaries topic."""

    to: To
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class Write:
    """A value to save in the table, in a readings partition (its changelog's partition)."""

    partition: int
    key: bytes
    value: bytes


@dataclass(slots=True)
class Writes:
    """What a judged batch leaves to save, in the order it is to be made durable."""

    summaries: list[Outgoing] = field(default_factory=list)
    """One per state saved: sent with the detections, so a saved state's summary is on Kafka."""
    states: list[Write] = field(default_factory=list)
    marks: list[Write] = field(default_factory=list)
    """Saved after the states: a mark must never promise readings a state does not hold."""


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
class Judged:
    """What judging a batch produced, held back until the batch is done: nothing sent or saved before."""

    sends: list[Outgoing] = field(default_factory=list)
    """Detections and dead letters, in the order they arose."""
    loaded: dict[str, _Loaded] = field(default_factory=dict)
    """Every household loaded in the batch (one object each, however often it appears)."""
    ticked: list[str] = field(default_factory=list)
    """Households ticked for the first time in this process by this batch."""
    reading: Reading | None = None
    """The reading being judged (for the dead letter if judging it fails)."""
    index: int | None = None
    """Its position in its record (None between readings: a tick, loading a state)."""
    marks: dict[int, int] = field(default_factory=dict)
    """Per partition, the offset after the last record the batch judged: saved after the states."""
    asked: dict[int, datetime | None] = field(default_factory=dict)
    """Per partition, its newest event time when the batch last asked for a due tick (`Judging._judge_readings`)."""
    detected: int = 0

    @property
    def dead_letters(self) -> int:
        return sum(outgoing.to is To.DEAD_LETTERS for outgoing in self.sends)


class BatchFailed(Exception):
    """Judging a batch raised (not a detector: `judge` turns their errors into verdicts); undone."""

    def __init__(self, error: Exception, reading: Reading | None, index: int | None = None) -> None:
        super().__init__(repr(error))
        self.error = error
        self.reading = reading
        self.index = index
        """The reading's position in its record, when judging that reading raised."""


class Judging:
    """A worker's judging state that is not in the table: the monitors' cache and each partition's progress."""

    def __init__(
        self,
        *,
        registry: Registry,
        settings: Settings,
        read: Callable[[bytes], bytes | None],
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.read = read
        """The table's value of a key (None: nothing saved)."""
        self.clock = clock
        self.progress = Progress(settings, clock)
        self.households_of: dict[int, list[str]] = {}
        for household_id in sorted(registry.households):
            self.households_of.setdefault(partition_of(household_id, settings.kafka_partitions), []).append(household_id)
        self._unsaved: dict[bytes, bytes] = {}
        """Values `writes` gave to save that are not in the table yet (`saved` says when they are): a chunk's
        states wait in `carewatch.runners.faust.households` until its sends are acknowledged, while the next
        chunk is judged, so the next chunk reads them here, not the table's older values."""
        self._cache: OrderedDict[str, tuple[bytes, HouseholdState]] = OrderedDict()
        self._ticked: set[str] = set()
        self._unmoved: dict[int, int] = {}
        """Per partition, its mark at the previous sweep while Kafka held records beyond it."""
        self.readings_judged = 0
        self.redelivered = 0
        self.heard = 0
        self.heard_again = 0

    # --- readings -----------------------------------------------------------------------

    def judge(self, messages: Sequence[KafkaMessage], poisoned: dict[int, BatchFailed] | None = None) -> Judged:
        """Judge records in order into one `Judged`, in one go (`judge_steps`)."""
        return done(self.judge_steps(messages, poisoned))

    def judge_steps(
        self, messages: Sequence[KafkaMessage], poisoned: dict[int, BatchFailed] | None = None, pause: Callable[[], bool] = never,
    ) -> Steps[Judged]:
        """Judge records in order into one `Judged`, stopping between two readings, or two households of a tick,
        whenever ``pause`` says so (`Steps`); raises `BatchFailed` (with everything undone) if that fails.
        Abandoned part-way (closed: its task cancelled while the loop had its turn), it is undone too.

        ``poisoned``: for a batch of one record, readings of it (by index) whose judging raised before:
        dead-lettered with that error instead of judged."""
        progress_undo = self.progress.undo_point()
        counters = (self.readings_judged, self.redelivered)
        judged = Judged()

        def undo() -> None:
            progress_undo()
            self.readings_judged, self.redelivered = counters
            for household_id in judged.loaded:
                self._cache.pop(household_id, None)  # the monitors may be half-changed: reload them from the table
            self._ticked.difference_update(judged.ticked)

        try:
            for message in messages:
                yield from self._take(judged, message, poisoned or {}, pause)
        except Exception as exc:
            log.exception(
                "could not judge %s[%d]@%d (in a batch of %d)", message.topic, message.partition, message.offset, len(messages)
            )
            undo()
            raise BatchFailed(exc, judged.reading, judged.index) from exc
        except BaseException:
            undo()
            raise
        return judged

    def failed(self, message: KafkaMessage, failed: BatchFailed) -> Judged:
        """The record whose judging raised, alone, to the dead-letter topic with the error, and passed."""
        judged = Judged()
        # Faust would ack the event and move on silently: keep it on the dead-letter topic instead.
        self._dead_letter(judged, message, RejectReason.PROCESSING_ERROR, f"worker error: {failed.error!r}", failed.reading)
        self._passed(judged, message)
        return judged

    def _take(
        self, judged: Judged, message: KafkaMessage, poisoned: dict[int, BatchFailed], pause: Callable[[], bool],
    ) -> Steps[None]:
        partition = message.partition
        if message.offset < self.mark(partition, judged):
            self.redelivered += 1  # judged before (a restart or rebalance delivers from the last commit)
            return
        try:
            judged.reading, judged.index = None, None
            try:
                record = decode_record(message.value)
            except BadRecord as exc:
                self._dead_letter(judged, message, RejectReason.SCHEMA_VIOLATION, str(exc))
                return
            household_id = record.household_id
            # Until a reading of it is judged, the record's first reading names it (meter, household) in a dead letter.
            judged.reading = next((r for r in record.readings if isinstance(r, Reading)), None)
            if household_id not in self.registry.households:
                self._refuse_unknown(judged, message, record)
                return
            loaded = self._load_into(judged, partition, household_id)
            if message.offset <= loaded.state.offset:
                # Redelivered after a crash or rebalance: judged, sent and saved before. Judging it again
                # would be harmless for alerts, but a reading older than the kept history would count twice.
                self.redelivered += 1
                return
            if record.status is not None:
                gateway_heard(loaded.state.monitor, record.status, self._now(partition))
                loaded.state.offset = message.offset
                loaded.save = True
                return
            yield from self._judge_readings(judged, message, record, loaded.state, poisoned, pause)
            loaded.state.offset = message.offset
            loaded.save = True
        finally:
            self._passed(judged, message)

    def _judge_readings(
        self, judged: Judged, message: KafkaMessage, record: DecodedRecord, state: HouseholdState,
        poisoned: dict[int, BatchFailed], pause: Callable[[], bool],
    ) -> Steps[None]:
        """The record's readings in order, each judged, counted and ticked after as one reading at a time; stopping
        before a reading whenever ``pause`` says so (`Steps`).

        The loop runs for every reading (192,000 in benchmarks/stream_throughput.py), so what does not
        change within a record is looked up once, and `judge`'s verdict is read in place (its
        ``accepted`` is neither a rejection nor a duplicate)."""
        partition, upload, monitor = message.partition, record.upload, state.monitor
        progress, newest_event = self.progress, self.progress.newest_event
        event_clock = self.settings.clock == "event"
        asked = judged.asked
        judged_here = 0
        for index, reading in enumerate(record.readings):
            if pause():
                self.readings_judged += judged_here  # counted so far, as a batch undone expects
                judged_here = 0
                yield
            where = index if upload else None
            if isinstance(reading, BadReading):
                self._dead_letter(judged, message, RejectReason.SCHEMA_VIOLATION, reading.detail, None, where, reading.entry)
                continue
            if poisoned and index in poisoned:
                detail = f"worker error: {poisoned[index].error!r}"
                self._dead_letter(judged, message, RejectReason.PROCESSING_ERROR, detail, reading, where)
                continue
            judged.reading, judged.index = reading, index
            verdict = judge(monitor, reading)
            if verdict.detections:
                self._detected(judged, verdict.detections)
            accepted = False
            if verdict.rejection is not None:
                self._dead_letter(judged, message, verdict.rejection, verdict.detail, reading, where)
            elif verdict.duplicate:
                state.readings_duplicate += 1
            else:
                state.readings_accepted += 1
                accepted = True
            judged_here += 1
            judged.index = None  # a tick's failure is the record's, not this reading's
            if accepted:
                progress.saw_event(partition, reading.at)
            if event_clock:
                # Whether the partition's event time moved since this batch last asked for a due tick there.
                # In a replay most readings of an upload are behind the partition's newest event time:
                # asked again with the same time, `Progress.due` answers None (its grid only moves forward,
                # and nothing but a later time moves a partition's watermark within a batch), so it is not asked.
                newest = newest_event.get(partition)
                if asked.get(partition, _UNASKED) is not newest:
                    asked[partition] = newest
                    due = progress.due(partition)
                    if due is not None:
                        yield from self._tick_into(judged, partition, self.households_of.get(partition, ()), due, pause)
        self.readings_judged += judged_here

    def _refuse_unknown(self, judged: Judged, message: KafkaMessage, record: DecodedRecord) -> None:
        """Every reading of a household this worker does not know, refused one by one (the ingest
        statistics count refused readings: `ingest.records.BatchRecord.reject`)."""
        detail = (f"household {record.household_id} is not in this worker's registry; "
                  "give the bridge and the workers the same CAREWATCH_REGISTRY_PATH")
        for index, reading in enumerate(record.readings):
            where = index if record.upload else None
            if isinstance(reading, BadReading):
                self._dead_letter(judged, message, RejectReason.UNKNOWN_METER, detail, None, where, reading.entry)
            else:
                self._dead_letter(judged, message, RejectReason.UNKNOWN_METER, detail, reading, where)

    def _passed(self, judged: Judged, message: KafkaMessage) -> None:
        judged.marks[message.partition] = max(judged.marks.get(message.partition, 0), message.offset + 1)
        self.progress.passed(message.partition, message.offset)

    def mark(self, partition: int, judged: Judged | None = None) -> int:
        """The offset after the last record of the partition judged (saved, or in ``judged``)."""
        if judged is not None and partition in judged.marks:
            return judged.marks[partition]
        saved = self._value(mark_key(partition))
        return int(saved) if saved is not None else 0

    def _value(self, key: bytes) -> bytes | None:
        """The key's value: the newest given to save (`writes`), whether or not the table holds it yet."""
        unsaved = self._unsaved.get(key)
        return unsaved if unsaved is not None else self.read(key)

    def saved(self, writes: Sequence[Write]) -> None:
        """These values are in the table now (handed to it): read there from now on."""
        for write in writes:
            if self._unsaved.get(write.key) is write.value:  # not if a later chunk gave a newer one
                del self._unsaved[write.key]

    def unsaved_dropped(self) -> None:
        """Sending or saving failed: the values not handed to the table are never saved; read the table again
        (a cached state that is not the table's value is then read again, as after any failed save)."""
        self._unsaved.clear()

    def stalled(self, partition: int, highwater: int | None) -> bool:
        """Asked once per sweep: Kafka has held records beyond the partition's mark since the previous
        sweep and none was judged meanwhile.  Then the stream may have dropped them."""
        mark = self.mark(partition)
        if highwater is None or mark >= highwater:
            self._unmoved.pop(partition, None)
            return False
        unmoved = self._unmoved.get(partition) == mark
        self._unmoved[partition] = mark
        return unmoved

    # --- what people said -----------------------------------------------------------------

    def hear(self, message: KafkaMessage) -> Judged:
        """A record of the answers topic told to its household's monitor (module docstring).  A record that
        does not decode, of a household this worker does not know, or whose telling raises, is logged and
        passed (the alert service's own records: nothing a gateway sent); nothing of it is saved."""
        judged = Judged()
        try:
            heard = HeardRecord.decode(message.value)
        except BadHeard as exc:
            log.error("skipping %s[%d]@%d: %s", message.topic, message.partition, message.offset, exc)
            return judged
        household_id = heard.household_id
        if household_id not in self.registry.households:
            log.error("skipping %s for household %s, not in this worker's registry", heard.record_id, household_id)
            return judged
        loaded = self._load_into(judged, message.partition, household_id)
        now = self._now(message.partition)
        told = heard.told
        if heard.record_id in loaded.state.heard:
            self.heard_again += 1  # Kafka redelivering it, or the alert service publishing it again
            if isinstance(told, CheckInAnswer):  # its receipt again, the monitor untold (module docstring)
                self._receipt(judged, Heard(household_id, told.alert_id, told_at(told.at, now)))
            return judged
        try:
            if isinstance(told, CheckInAnswer):
                self._detected(judged, answered(loaded.state.monitor, told, now))
                self._receipt(judged, Heard(household_id, told.alert_id, told_at(told.at, now)))
            else:
                words, at = taught(loaded.state.monitor, told, now)
                self._receipt(judged, Learned(household_id, told.alert_id, words, at))
        except Exception:
            log.exception("could not tell %s to the monitor of %s; passed", heard.record_id, household_id)
            self._cache.pop(household_id, None)  # the monitor may be half-changed: reload it from the table
            return Judged()
        loaded.state.hear(heard.record_id)
        loaded.save = True
        self.heard += 1
        return judged

    def _now(self, partition: int) -> datetime:
        """The runner's time for what people and gateways say, as the embedded runner's: on the event clock
        a replay's newest reading on the partition, else the wall clock."""
        return (self.progress.newest_event.get(partition) if self.settings.clock == "event" else None) or self.clock()

    def _receipt(self, judged: Judged, receipt: Receipt) -> None:
        """Sent after the detections the telling emitted, and acknowledged before the state is saved: a
        receipt on the alert promises a monitor that heard (`carewatch.runners.faust.households`)."""
        judged.sends.append(Outgoing(To.DETECTIONS, receipt.household_id.encode(), receipt.encode()))

    # --- the passage of time ------------------------------------------------------------

    def tick(self, partition: int, households: Sequence[str], due: datetime) -> Judged:
        """Tick these households of the partition at ``due``, in one go (`tick_steps`)."""
        return done(self.tick_steps(partition, households, due))

    def tick_steps(self, partition: int, households: Sequence[str], due: datetime, pause: Callable[[], bool] = never) -> Steps[Judged]:
        """Tick these households of the partition at ``due``, stopping between two whenever ``pause`` says so."""
        judged = Judged()
        yield from self._tick_into(judged, partition, households, due, pause)
        return judged

    def _tick_into(
        self, judged: Judged, partition: int, households: Sequence[str], due: datetime, pause: Callable[[], bool],
    ) -> Steps[None]:
        # A replay ticks every household of the partition at every step its readings reach (as many ticks
        # as readings in benchmarks/stream_throughput.py): one Tick for all.
        tick = Tick(due)
        loaded_in, ticked = judged.loaded, self._ticked
        for household_id in households:
            if pause():
                yield
            loaded = loaded_in.get(household_id) or self._load_into(judged, partition, household_id)
            detections = loaded.state.monitor.tick(tick)
            if detections:
                self._detected(judged, detections)
            # Pickling every household at every tick costs more than the tick. Without a
            # detection a tick changes little: the first one fixes when this monitor started
            # watching (saved once per process), later ones widen a raised alert to more
            # silent meters, which the next tick after a restart recomputes anyway.
            if detections or household_id not in ticked:
                loaded.save_if_changed = True
                if household_id not in ticked:
                    ticked.add(household_id)
                    judged.ticked.append(household_id)

    def _detected(self, judged: Judged, detections: Sequence[Detection]) -> None:
        for detection in detections:
            judged.sends.append(Outgoing(To.DETECTIONS, detection.household_id.encode(), encode_detection(detection)))
        judged.detected += len(detections)

    # --- state --------------------------------------------------------------------------

    def _load_into(self, judged: Judged, partition: int, household_id: str) -> _Loaded:
        loaded = judged.loaded.get(household_id)
        if loaded is None:
            blob = self._value(household_id.encode())
            cached = self._cache.get(household_id)
            if cached is not None and blob is not None and cached[0] == blob:
                self._cache.move_to_end(household_id)
                state = cached[1]
            elif blob is None:
                state = HouseholdState(new_monitor(self.registry, household_id))
            else:
                state = loads(blob)
                refreshed(state.monitor, self.registry)
            loaded = judged.loaded[household_id] = _Loaded(partition, blob, state)
        return loaded

    def writes(self, judged: Judged) -> Writes:
        """`writes_steps` in one go."""
        return done(self.writes_steps(judged))

    def writes_steps(self, judged: Judged, pause: Callable[[], bool] = never) -> Steps[Writes]:
        """The states to save (each changed household once), a summary of each, and the partitions' marks; stopping
        between two households whenever ``pause`` says so (a replay tick's first states are a partition's every
        household, pickled here).

        The states are remembered unpickled here, so the next batch finds them without unpickling
        (a state whose save fails differs from the table's value and is read again).
        """
        writes = Writes()
        for household_id, loaded in judged.loaded.items():
            if pause():
                yield
            if loaded.save or loaded.save_if_changed:
                after = dumps(loaded.state)
                if loaded.save or after != loaded.blob:
                    key = household_id.encode()
                    writes.states.append(Write(loaded.partition, key, after))
                    self._unsaved[key] = after
                    writes.summaries.append(Outgoing(To.SUMMARIES, key, summary_of(household_id, loaded.state).encode()))
                    self._remember(household_id, after, loaded.state)
                    continue
            if loaded.blob is not None:
                self._remember(household_id, loaded.blob, loaded.state)
        writes.marks = [
            Write(partition, mark_key(partition), str(mark).encode())
            for partition, mark in judged.marks.items()
            if mark != self.mark(partition)
        ]
        for write in writes.marks:
            self._unsaved[write.key] = write.value
        return writes

    def _remember(self, household_id: str, blob: bytes, state: HouseholdState) -> None:
        self._cache[household_id] = (blob, state)
        self._cache.move_to_end(household_id)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    # --- dead letters -------------------------------------------------------------------

    def _dead_letter(
        self,
        judged: Judged,
        message: KafkaMessage,
        reason: RejectReason,
        detail: str,
        reading: Reading | None = None,
        index: int | None = None,
        entry: bytes | None = None,
    ) -> None:
        """A dead letter for the record, or (``index`` given) for that reading of an upload alone, whose
        payload is then the reading as the record holds it, not the whole upload."""
        if index is not None and entry is None:
            entry = reading_entry(message.value, index)
        record = DeadLetterRecord(
            received_at=self.clock(),
            stage="worker",
            source=f"{message.topic}[{message.partition}]@{message.offset}",
            reason=reason,
            detail=detail,
            payload=entry if index is not None and entry is not None else message.value or b"",
            meter_id=reading.meter_id if reading else None,
            reading_index=index,
        )
        key = (reading.household_id if reading else f"{message.topic}-{message.partition}").encode()
        judged.sends.append(Outgoing(To.DEAD_LETTERS, key, record.encode()))
