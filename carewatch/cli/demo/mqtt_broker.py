"""The embedded MQTT broker (amqtt) for the demo and for running without a Mosquitto."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from amqtt.broker import Broker

from carewatch.loopback import free_port


@asynccontextmanager
async def embedded_broker(host: str = "127.0.0.1", port: int | None = None) -> AsyncIterator[tuple[str, int]]:
    """Run an amqtt broker on a free loopback port (never 1883: a system broker may own it)."""
    port = port or free_port(host)
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            # Only anonymous auth: the packet/event logger plugins cost a lot of CPU per message.
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
    )
    await broker.start()
    try:
        yield host, port
    finally:
        await broker.shutdown()
