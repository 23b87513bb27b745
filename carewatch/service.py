"""`carewatch run`: the long-running service an integrator deploys with real gateways."""

from __future__ import annotations

import asyncio

from rich.console import Console

from carewatch.console import serve_console
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.wiring import running_system
from ingest.subscriber import BrokerAddress


async def run_service(settings: Settings, console: Console) -> None:
    assert settings.mqtt_url, "checked by the CLI"
    registry = Registry.load(settings.registry_path)
    async with (
        running_system(settings, registry, BrokerAddress.from_url(settings.mqtt_url)) as system,
        serve_console(settings, system, registry) as serving,
    ):
        console.print(
            f"carewatch: {len(registry)} households, broker {settings.mqtt_url}, "
            f"console http://{settings.http_host}:{settings.http_port}/"
        )
        await asyncio.wait([system.consumer, serving], return_when=asyncio.FIRST_COMPLETED)
        if system.consumer.done():
            system.consumer.result()  # the pipeline died: say why
