"""A worker's judging: readings and sweeps over its households, with nothing lost and nothing doubled.

Order of effects for every reading and every sweep of a household:

1. judge with the shared engine (`carewatch.engine`);
2. send detections and dead letters and wait until Kafka acknowledged them;
3. only then save the new state in the table (its changelog).

A crash before 3 leaves the old state: the reading is judged again after the
restart and its detections are sent again — harmless, alert ids come from
household, type and onset.  A crash after 3 finds the reading already in the
state (a duplicate), but its detections were acknowledged in 2.  Faust flushes
the changelog before it commits offsets, so a committed reading is always in
the saved state.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from alerts.wire import encode_detection
from carewatch.domain import Detection, Reading, RejectReason, Tick
from carewatch.engine import TickSchedule, Verdict, judge, new_monitor, refreshed
from carewatch.kafka import partition_of
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.stream.records import HouseholdState
from ingest.wire import BadRecord, DeadLetterRecord, decode_reading

log = logging.getLogger(__name__)

CACHE_SIZE = 200_000
"""Monitors kept unpickled between readings (a table value is pickled bytes)."""


class Sender(Protocol):
    async def __call__(self, key: bytes, value: bytes) -> Any: ...


class KafkaMessage(Protocol):
    topic: str
    partition: int
    offset: int
    value: bytes | None


def wall_clock() -> datetime:
    return datetime.now(UTC)


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
        clock=wall_clock,  # type: ignore[no-untyped-def]
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.table = table
        self.send_detection = send_detection
        self.send_dead_letter = send_dead_letter
        self.clock = clock
        self.households_of: dict[int, list[str]] = {}
        for household_id in sorted(registry.households):
            self.households_of.setdefault(partition_of(household_id, settings.kafka_partitions), []).append(household_id)
        self.newest_event: dict[int, datetime] = {}
        self.judged_next: dict[int, int] = {}
        """Per partition, the offset after the newest record judged in this process."""
        self.schedules: dict[int, TickSchedule] = {}
        self._cache: OrderedDict[str, tuple[bytes, HouseholdState]] = OrderedDict()
        self._lock = asyncio.Lock()
        self._ticked: set[str] = set()
        self.readings_judged = 0
        self.redelivered = 0
        self.dead_letters_sent = 0

    # --- readings -----------------------------------------------------------------------

    async def on_reading(self, message: KafkaMessage) -> None:
        """Judge one record of the readings topic. Never raises: what cannot be judged is dead-lettered."""
        try:
            await self._on_reading(message)
        finally:
            self.judged_next[message.partition] = max(self.judged_next.get(message.partition, 0), message.offset + 1)

    async def _on_reading(self, message: KafkaMessage) -> None:
        try:
            reading = decode_reading(message.value)
        except BadRecord as exc:
            await self._dead_letter(message, RejectReason.SCHEMA_VIOLATION, str(exc))
            return
        try:
            async with self._lock:
                accepted = await self._judge(message, reading)
        except Exception as exc:
            # Faust would ack the event and move on silently: keep it on the dead-letter topic instead.
            log.exception("could not judge %s[%d]@%d", message.topic, message.partition, message.offset)
            self._cache.pop(reading.household_id, None)  # the monitor may be half-changed: reload it
            await self._dead_letter(message, RejectReason.PROCESSING_ERROR, f"worker error: {exc!r}", reading)
            return
        self.readings_judged += 1
        if accepted and reading.at > self.newest_event.get(message.partition, reading.at - self.settings.tick_every):
            self.newest_event[message.partition] = reading.at
        if self.settings.clock == "event":
            # Replays run faster than any timer: tick on the event-time grid as readings arrive,
            # exactly where the embedded runner ticks.
            await self.sweep(message.partition)

    async def _judge(self, message: KafkaMessage, reading: Reading) -> bool:
        if reading.household_id not in self.registry.households:
            await self._dead_letter(
                message,
                RejectReason.UNKNOWN_METER,
                f"household {reading.household_id} is not in this worker's registry; "
                "give the bridge and the workers the same CAREWATCH_REGISTRY_PATH",
                reading,
            )
            return False
        blob, state = self._load(reading.household_id)
        if message.offset <= state.offset:
            # Redelivered after a crash or rebalance: judged, sent and saved before. Judging it again
            # would be harmless for alerts, but a reading older than the kept history would count twice.
            self.redelivered += 1
            return False
        verdict: Verdict = judge(state.monitor, reading)
        sends = [self.send_detection(d.household_id.encode(), encode_detection(d)) for d in verdict.detections]
        if verdict.rejection is not None:
            sends.append(self._dead_letter_send(message, verdict.rejection, verdict.detail, reading))
        elif verdict.duplicate:
            state.readings_duplicate += 1
        else:
            state.readings_accepted += 1
        await asyncio.gather(*sends)
        state.offset = message.offset
        self._save(message.partition, reading.household_id, state)
        return verdict.accepted

    # --- the passage of time ------------------------------------------------------------

    def watermark(self, partition: int, behind: bool = False) -> datetime | None:
        """No more readings are expected on this partition before this time.

        On the wall clock that is now minus the lateness — unless this worker is ``behind``
        (reading a backlog, e.g. after an outage): then, as in a replay, the newest event time
        judged on the partition, so that queued readings are never taken for silence.
        """
        if self.settings.clock == "wall" and not behind:
            return self.clock() - self.settings.watermark_lateness
        newest = self.newest_event.get(partition)
        return None if newest is None else newest - self.settings.watermark_lateness

    async def sweep(self, partition: int, behind: bool = False) -> int:
        """Tick every household of the partition if its watermark reached a new step; returns detections sent."""
        watermark = self.watermark(partition, behind)
        if watermark is None:
            return 0
        due = self.schedules.setdefault(partition, TickSchedule(self.settings.tick_every)).due(watermark)
        if due is None:
            return 0
        sent = 0
        for count, household_id in enumerate(self.households_of.get(partition, ())):
            async with self._lock:
                blob, state = self._load(household_id)
                detections = state.monitor.tick(Tick(due))
                await self._emit(detections)
                # Pickling every household at every tick costs more than the tick. Without a
                # detection a tick changes little: the first one fixes when this monitor started
                # watching (saved once per process), later ones widen a raised alert to more
                # silent meters, which the next tick after a restart recomputes anyway.
                if detections or household_id not in self._ticked:
                    after = state.dumps()
                    if after != blob:
                        self._save(partition, household_id, state, after)
                    self._ticked.add(household_id)
            sent += len(detections)
            if count % 1000 == 999:
                await asyncio.sleep(0)  # let readings through during a long sweep
        return sent

    def caught_up(self, partition: int, highwater: int | None, position: int | None) -> bool:
        """Whether every record of the partition that Kafka holds has been judged here.

        On the wall clock, silence may only be judged then: after an outage the backlog queued
        in Kafka is evidence still to be read, not silence.  ``highwater`` is the partition's
        end as the last fetch saw it, ``position`` the consumer's next fetch offset.
        """
        if highwater is None:
            return False
        judged = self.judged_next.get(partition)
        if judged is not None:
            return judged >= highwater
        return position is not None and position >= highwater  # nothing was there to judge

    def forget(self, partitions: Sequence[int]) -> None:
        """Partitions went to another worker: their event time, tick grid and position are no longer ours."""
        for partition in partitions:
            self.newest_event.pop(partition, None)
            self.schedules.pop(partition, None)
            self.judged_next.pop(partition, None)

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

    def _save(self, partition: int, household_id: str, state: HouseholdState, blob: bytes | None = None) -> None:
        blob = blob if blob is not None else state.dumps()
        key = household_id.encode()
        # Written like Table.__setitem__, but with the partition given: sweeps run outside any event.
        self.table.data[key] = blob
        self.table.send_changelog(partition, key, blob)
        self._cache[household_id] = (blob, state)
        self._cache.move_to_end(household_id)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def _emit(self, detections: Sequence[Detection]) -> None:
        await asyncio.gather(*(self.send_detection(d.household_id.encode(), encode_detection(d)) for d in detections))

    # --- dead letters -------------------------------------------------------------------

    async def _dead_letter(
        self, message: KafkaMessage, reason: RejectReason, detail: str, reading: Reading | None = None
    ) -> None:
        await self._dead_letter_send(message, reason, detail, reading)

    async def _dead_letter_send(
        self, message: KafkaMessage, reason: RejectReason, detail: str, reading: Reading | None
    ) -> None:
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
        await self.send_dead_letter(key, record.encode())
        self.dead_letters_sent += 1
