"""`carewatch alerts`: the alert service of the scaled-out path, as a process of its own.

It consumes the workers' detections into alerts (`alerts.consumer`, idempotent by alert id),
ingest's dead letters and gateway status into ingest's tables (`ingest.reports`, exactly once
by stored offsets), the workers' household summaries into ``household_summaries``
(`ingest.summaries`: the household page's routine, the reading counts), and runs the
escalation ladder and the notification dispatcher (`alerts.notifications`): the same ones
`carewatch run` runs beside its embedded pipeline.  It publishes the elders' answers to check-ins and
the outcomes that teach, once committed in the store, on the answers topic for the workers' monitors
(`alerts.heard`), and writes the workers' receipts on the alerts' audit trails (what an outcome taught,
that an answer was heard), offering each again until its receipt is there.
With the archive on (CAREWATCH_INFLUX_URL), the readings consumer also fills the archive outbox and an
`ingest.archive.Archiver` drains it into InfluxDB.
Run one (or more: they share the partitions) next to `carewatch ingest` and the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.consumer import DetectionConsumer, OnApplied
from alerts.heard import AnswerPublisher
from alerts.notifications import Notifications, start_notifications
from alerts.store import AlertStore
from carewatch.clock import wall_clock
from carewatch.db import make_engine, make_sessions
from carewatch.kafka import answers_topic, bootstrap_servers, ensure_topics, kafka_url, summaries_topic
from carewatch.registry import Registry
from carewatch.runners.directory import prepare_directory
from carewatch.settings import Settings
from ingest.archive import Archiver, InfluxTarget
from ingest.reports import IngestReportConsumer, ReadingUsageConsumer
from ingest.summaries import HouseholdSummaryConsumer
from ingest.usage import keep_usage_hourly

log = logging.getLogger(__name__)


def reports_group_id(settings: Settings) -> str:
    """The consumer group of ingest's reports (dead letters, gateway status), beside the detections' group."""
    return f"{settings.alerts_group_id}-ingest-reports"


def usage_group_id(settings: Settings) -> str:
    """The consumer group booking the readings into hourly use, beside the detections' group."""
    return f"{settings.alerts_group_id}-usage"


def summaries_group_id(settings: Settings) -> str:
    """The consumer group storing the workers' household summaries."""
    return f"{settings.alerts_group_id}-summaries"


@dataclass
class AlertService:
    sessions: async_sessionmaker[AsyncSession]
    detections: DetectionConsumer
    reports: IngestReportConsumer
    usage: ReadingUsageConsumer
    summaries: HouseholdSummaryConsumer
    answers: AnswerPublisher
    notifications: Notifications
    tasks: list[asyncio.Task[None]]
    archiver: Archiver | None = None

    def status(self) -> dict[str, object]:
        return {
            "detections": self.detections.detections_seen,
            "ingest_reports": self.reports.stored,
            "readings_booked": self.usage.stored,
            **({"archive_backlog": self.archiver.backlog} if self.archiver else {}),  # shown only where the archive is on
            "event_time": self.detections.newest_event.isoformat() if self.detections.newest_event else None,
        }


@contextlib.asynccontextmanager
async def running_alert_service(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    on_applied: OnApplied | None = None,
    event_time: Callable[[], datetime | None] | None = None,
) -> AsyncIterator[AlertService]:
    """The consumers and the notifications, started and stopped together (the schema and topics must exist).

    ``event_time`` is the ladder's clock on the event clock (replays, the demo); by default the
    newest detection's time.  On the wall clock (production) the ladder runs on the wall clock.
    """
    servers = bootstrap_servers(kafka_url(settings))
    store = AlertStore(sessions)
    detections = DetectionConsumer(
        store, bootstrap_servers=servers, topic=settings.kafka_topic_detections,
        group_id=settings.alerts_group_id, on_applied=on_applied,
    )
    reports = IngestReportConsumer(
        sessions, bootstrap_servers=servers, dead_letter_topic=settings.kafka_topic_dead_letters,
        gateway_status_topic=settings.kafka_topic_gateway_status, group_id=reports_group_id(settings),
    )
    target = InfluxTarget.of(settings)
    usage = ReadingUsageConsumer(
        sessions, bootstrap_servers=servers, readings_topic=settings.kafka_topic_readings, group_id=usage_group_id(settings),
        archive=target is not None,
    )
    archiver = Archiver(sessions, target) if target else None
    summaries = HouseholdSummaryConsumer(
        sessions, bootstrap_servers=servers, summaries_topic=summaries_topic(settings), group_id=summaries_group_id(settings)
    )
    answers = AnswerPublisher(
        sessions, bootstrap_servers=servers, topic=answers_topic(settings),
        producer_batch_bytes=settings.kafka_producer_batch_bytes, clock=store.clock,  # the clock answers are stamped on
    )
    # The ladder is attached to the store before the first detection is applied: every alert gets its escalation.
    notifications = await start_notifications(settings, sessions, store, event_time or (lambda: detections.newest_event))
    tasks = [
        asyncio.create_task(detections.run(), name="carewatch-alert-service"),
        asyncio.create_task(reports.run(), name="carewatch-ingest-reports"),
        asyncio.create_task(usage.run(), name="carewatch-hourly-use"),
        asyncio.create_task(summaries.run(), name="carewatch-household-summaries"),
        asyncio.create_task(answers.run(), name="carewatch-answers"),
        *([asyncio.create_task(archiver.run(), name="carewatch-archive")] if archiver else []),
        asyncio.create_task(
            keep_usage_hourly(
                sessions, settings.usage_hourly_retention, settings.usage_daily_retention,
                # on the event clock (replays, the demo) the data's own time says what is old
                wall_clock if settings.clock == "wall" else (lambda: detections.newest_event),
            ),
            name="carewatch-usage-retention",
        ),
    ]
    try:
        yield AlertService(sessions, detections, reports, usage, summaries, answers, notifications, tasks, archiver)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await notifications.stop()


async def run_alert_service(settings: Settings, console: Console, *, serve_api: bool = False) -> None:
    """`carewatch alerts`: run until SIGTERM or SIGINT (then stop consuming, leave the groups, return)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    engine = make_engine(settings.database_url)
    try:
        await ensure_topics(settings)
        # As `carewatch run` does: the schema, and the registry file (if any) into the directory.
        registry = await prepare_directory(settings, console)
        sessions = make_sessions(engine)
        async with running_alert_service(settings, sessions) as service, _maybe_console(
            settings, service, registry if serve_api else None
        ) as serving:
            console.print(
                f"carewatch alerts: Kafka {settings.kafka_url}, detections {settings.kafka_topic_detections}, "
                f"dead letters {settings.kafka_topic_dead_letters}, gateway status {settings.kafka_topic_gateway_status}"
                + (f", console http://{settings.http_host}:{settings.http_port}/" if serving else "")
            )
            stop = asyncio.create_task(stopping.wait())
            watched = [*service.tasks, stop, *([serving] if serving else [])]
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            for task in service.tasks:
                if task.done():
                    task.result()  # a consumer died: say why
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await engine.dispose()


@contextlib.asynccontextmanager
async def _maybe_console(
    settings: Settings, service: AlertService, registry: Registry | None
) -> AsyncIterator[asyncio.Task[None] | None]:
    """The duty console and API beside the service, when asked for (``registry`` given)."""
    if registry is None:
        yield None
        return
    from api.server import serve_console  # the API only when asked for

    async with serve_console(settings, service.sessions, registry, status=service.status) as serving:
        yield serving
