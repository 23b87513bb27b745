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
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.notifications import start_notifications
from alerts.store import AlertStore
from carewatch.clock import wall_clock
from carewatch.db import make_engine, make_sessions
from carewatch.domain import Detection, RejectReason, Tick
from carewatch.runners.engine import TickSchedule, judge, new_monitor, refreshed
from carewatch.runners.state import HouseholdState, dumps, loads, summary_of
from carewatch.registry import Registry
from carewatch.schema import create_schema
from carewatch.settings import Settings
from ingest.models import HouseholdSummary, MonitorSnapshot
from ingest.payload import Rejection
from ingest.records import BatchRecord, DeadLetterEntry, ensure_counters, write_batch
from ingest.summaries import store_summaries
from ingest.usage import record_usage
from ingest.subscriber import BrokerAddress, InboundMessage, MqttSubscriber
from ingest.translate import translate

log = logging.getLogger(__name__)

MAX_BATCH = 500



class Pipeline:
    def __init__(
        self,
        *,
        registry: Registry,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Callable[[], datetime] = wall_clock,
    ):
        self.registry = registry
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.alert_store = AlertStore(sessions)
        self.states: dict[str, HouseholdState] = {}
        self.newest_event: datetime | None = None
        self.ticks = TickSchedule(settings.tick_every)
        self.readings_seen = 0
        self.messages_seen = 0
        self.busy = False
        """True while a batch taken from the inbox is not yet committed and acknowledged."""

    async def start(self) -> None:
        async with self.sessions.begin() as session:
            await ensure_counters(session)
            snapshots = (await session.execute(select(MonitorSnapshot))).scalars().all()
            for snapshot in snapshots:
                if snapshot.household_id not in self.registry.households:
                    continue  # household left the registry: its state is kept in the table, not used
                state = self.states[snapshot.household_id] = loads(snapshot.state)
                refreshed(state.monitor, self.registry)
            # States saved by a release before the summaries existed: summarised once, now.
            summarised = set((await session.execute(select(HouseholdSummary.household_id))).scalars())
            await store_summaries(
                session, [summary_of(h, state) for h, state in self.states.items() if h not in summarised], self.clock()
            )
        log.info("resumed detector state of %d households", len(self.states))

    def use_registry(self, registry: Registry) -> None:
        """A changed directory takes effect at once: new households are watched, changed meters,
        thresholds and planned absences apply to the running monitors (their learned state is kept)."""
        for household_id in [h for h in self.states if h not in registry.households]:
            del self.states[household_id]  # left the directory: its stored state is kept, not used
        for state in self.states.values():
            refreshed(state.monitor, registry)
        self.registry = registry

    def status(self) -> dict[str, object]:
        return {
            "messages": self.messages_seen,
            "readings": self.readings_seen,
            "households": len(self.registry),
            "event_time": self.newest_event.isoformat() if self.newest_event else None,
        }

    async def consume(self, subscriber: MqttSubscriber) -> None:
        """Run until cancelled: batches from the subscriber's inbox, ticks by the configured clock."""
        while True:
            wait = self.settings.tick_every.total_seconds() if self.settings.clock == "wall" else None
            batch = await subscriber.next_batch(MAX_BATCH, wait)
            if batch:
                self.busy = True
                await self.handle(batch)
                for message in batch:
                    subscriber.ack(message)
                self.busy = False
            if self.settings.clock == "wall":
                await self.tick(self.clock() - self.settings.watermark_lateness)

    async def handle(self, messages: Sequence[InboundMessage]) -> None:
        record = BatchRecord()
        detections: list[Detection] = []
        touched: set[str] = set()
        for message in messages:
            self.messages_seen += 1
            record.counters["messages"] += 1
            self._judge(message, record, detections, touched)
        if self.settings.clock == "event" and self.newest_event is not None:
            detections.extend(self._tick_due(self.newest_event - self.settings.watermark_lateness, touched))
        await self._commit(record, detections, touched)

    async def tick(self, at: datetime) -> None:
        touched: set[str] = set()
        detections = self._tick_due(at, touched)
        if detections:
            await self._commit(BatchRecord(), detections, touched)

    def _tick_due(self, watermark: datetime, touched: set[str]) -> list[Detection]:
        due = self.ticks.due(watermark)
        if due is None:
            return []
        detections: list[Detection] = []
        for household_id in self.registry.households:
            emitted = self._state(household_id).monitor.tick(Tick(due))
            if emitted:
                touched.add(household_id)
                detections.extend(emitted)
        return detections

    def _judge(
        self, message: InboundMessage, record: BatchRecord, detections: list[Detection], touched: set[str]
    ) -> None:
        translated = translate(message, self.registry, self.settings, self.clock())

        def dead_letter(refusal: Rejection) -> None:
            record.reject(
                DeadLetterEntry(
                    message.received_at, message.topic, translated.gateway_id, refusal.reason, refusal.detail,
                    message.payload, refusal.meter_id, refusal.index,
                )
            )

        if translated.status is not None and translated.gateway_id is not None:
            record.gateway_states[translated.gateway_id] = (translated.status, message.received_at)
            return
        for refusal in translated.refusals:
            dead_letter(refusal)
        for meter_id in translated.unknown_meters:
            record.unknown_meters.append((meter_id, translated.gateway_id, message.received_at))
        self.readings_seen += translated.readings_seen

        for index, reading in translated.readings:
            state = self._state(reading.household_id)
            verdict = judge(state.monitor, reading)
            if verdict.rejection is RejectReason.PROCESSING_ERROR:  # a bug of ours: kept, the stream goes on
                dead_letter(Rejection(verdict.rejection, verdict.detail, reading.meter_id, index))
                continue
            touched.add(reading.household_id)
            detections.extend(verdict.detections)
            if verdict.rejection is not None:
                dead_letter(Rejection(verdict.rejection, verdict.detail, reading.meter_id, index))
            elif verdict.duplicate:
                state.readings_duplicate += 1
            else:
                state.readings_accepted += 1
                record.accepted.append(reading)
                if self.newest_event is None or reading.at > self.newest_event:
                    self.newest_event = reading.at

    def _state(self, household_id: str) -> HouseholdState:
        state = self.states.get(household_id)
        if state is None:
            state = self.states[household_id] = HouseholdState(new_monitor(self.registry, household_id))
        return state

    async def _commit(self, record: BatchRecord, detections: list[Detection], touched: Iterable[str]) -> None:
        """Commit the batch's outcome in one transaction; retry until the database takes it.

        Retrying (instead of dropping the batch) is what keeps "nothing accepted is lost":
        the messages stay unacknowledged, and the broker holds the rest meanwhile.
        """
        changed = {household_id: self.states[household_id] for household_id in touched}
        snapshots = [(household_id, dumps(state)) for household_id, state in changed.items()]
        summaries = [summary_of(household_id, state) for household_id, state in changed.items()]
        delay = 0.5
        while True:
            try:
                async with self.sessions.begin() as session:
                    await write_batch(session, record)
                    await record_usage(session, record.accepted)
                    await self.alert_store.apply(detections, session=session)
                    now = self.clock()
                    for household_id, state in snapshots:
                        await session.merge(MonitorSnapshot(household_id=household_id, state=state, updated_at=now))
                    await store_summaries(session, summaries, now)
                return
            except Exception:
                log.exception("could not commit a batch; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)



@dataclass
class RunningSystem:
    """A started pipeline with its database sessions and MQTT subscriber."""

    pipeline: Pipeline
    sessions: async_sessionmaker[AsyncSession]
    subscriber: MqttSubscriber
    consumer: asyncio.Task[None]

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


@asynccontextmanager
async def running_system(
    settings: Settings, registry: Registry, broker: BrokerAddress, client_id: str | None = None
) -> AsyncIterator[RunningSystem]:
    engine = make_engine(settings.database_url)
    await create_schema(engine)
    sessions = make_sessions(engine)
    pipeline = Pipeline(registry=registry, sessions=sessions, settings=settings)
    await pipeline.start()
    notifications = await start_notifications(settings, sessions, pipeline.alert_store, lambda: pipeline.newest_event)
    subscriber = MqttSubscriber(broker, client_id or settings.mqtt_client_id, settings.mqtt_topic_prefix)
    await subscriber.start()
    consumer = asyncio.create_task(pipeline.consume(subscriber), name="carewatch-pipeline")
    try:
        yield RunningSystem(pipeline, sessions, subscriber, consumer)
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await subscriber.stop()
        await notifications.stop()
        await engine.dispose()
