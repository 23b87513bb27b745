"""`carewatch run`: the long-running service an integrator deploys with real gateways."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from rich.console import Console

from api.server import serve_console
from carewatch.directory import load_registry
from carewatch.runners.directory import prepare_directory
from carewatch.settings import Settings
from carewatch.runners.embedded.pipeline import RunningSystem, running_system
from ingest.publisher import MqttPublisher
from ingest.subscriber import BrokerAddress

log = logging.getLogger(__name__)


async def follow_directory(system: RunningSystem) -> None:
    """After an API change: the pipeline watches what the directory now says, without a restart."""
    pipeline = system.pipeline
    # Which absences are recent is judged on the pipeline's own clock (simulated time in replays and the demo).
    now = (pipeline.newest_event if pipeline.settings.clock == "event" else None) or datetime.now(UTC)
    try:
        async with system.sessions() as session:
            registry = await load_registry(session, now=now)
    except Exception:  # the change is stored; the next change or a restart picks it up
        log.exception("could not reload the directory after a change; the pipeline keeps the previous one")
        return
    pipeline.use_registry(registry)


async def run_service(settings: Settings, console: Console) -> None:
    assert settings.mqtt_url, "checked by the CLI"
    registry = await prepare_directory(settings, console)
    if len(registry) == 0:
        console.print("[yellow]the directory has no households yet[/]: add them through the API (POST /api/import)")
    broker = BrokerAddress.from_url(settings.mqtt_url)
    publisher = MqttPublisher(broker, f"{settings.mqtt_client_id}-push")
    async with running_system(settings, registry, broker) as system:
        await publisher.start()
        async with serve_console(
            settings, system.sessions, registry, status=system.pipeline.status, readiness=system.readiness,
            on_directory_change=lambda: follow_directory(system), publish=publisher.publish,
        ) as serving:
            console.print(
                f"carewatch: {len(registry)} households, broker {settings.mqtt_url}, "
                f"console http://{settings.http_host}:{settings.http_port}/"
            )
            await asyncio.wait([system.consumer, serving], return_when=asyncio.FIRST_COMPLETED)
            await publisher.stop()
            if system.consumer.done():
                system.consumer.result()  # the pipeline died: say why
