"""Loss you can see: a burst the broker drops shows as messages missing; the shipped broker settings drop none.

carewatch is away (stopped, its persistent session kept by the broker) while a gateway publishes a burst, so the
broker must queue all of it for carewatch.  The gateway gets every PUBACK either way; only the gateway's message
counter (``seq``, contract v1.1) tells carewatch what never reached it.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from carewatch.runners.embedded.pipeline import RunningSystem, running_system
from carewatch.settings import Settings
from ingest.models import GatewaySequence
from ingest.stats import read_stats
from ingest.subscriber import BrokerAddress
from tests.faults.burst import GATEWAY, READINGS_PER_MESSAGE, publish, registry, shipped_flow_settings
from tests.services import mosquitto

pytestmark = [pytest.mark.service]


async def burst_while_carewatch_is_away(tmp_path, extra_config: str, messages: int, timeout: float):  # type: ignore[no-untyped-def]
    """(PUBACKs the gateway got, messages carewatch received, ingest stats) after a burst of ``messages`` published
    while carewatch was stopped, and one more once it is back (a gap shows when the next number arrives)."""
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}", clock="event")  # type: ignore[call-arg]
    with mosquitto(tmp_path, extra_config) as (host, port):
        address = BrokerAddress(host, port)
        async with running_system(settings, registry(), address, "carewatch-ingest"):
            pass  # subscribed once: the broker keeps carewatch's session while it is away
        acknowledged = await asyncio.to_thread(publish, host, port, range(1, messages + 1))
        async with running_system(settings, registry(), address, "carewatch-ingest") as system:
            await asyncio.to_thread(publish, host, port, range(messages + 1, messages + 2))
            await committed(system, messages + 1, timeout)
            async with system.sessions() as session:
                stats = await read_stats(session)
            received = system.pipeline.messages_seen
    return acknowledged, received, stats


async def committed(system: RunningSystem, seq: int, timeout: float) -> None:
    """Wait until the gateway's message ``seq`` is committed."""
    deadline = time.monotonic() + timeout
    while True:
        async with system.sessions() as session:
            row = await session.get(GatewaySequence, GATEWAY)
        if row is not None and row.highest_seq == seq and not system.pipeline.busy:
            return
        if system.consumer.done() or time.monotonic() > deadline:
            raise TimeoutError(f"message {seq} of {GATEWAY} was not committed within {timeout:.0f} s")
        await asyncio.sleep(0.2)


@pytest.mark.timeout(180)
async def test_a_burst_the_broker_cannot_queue_is_counted_as_messages_missing_not_silence(tmp_path):
    burst = 1_000
    acknowledged, received, stats = await burst_while_carewatch_is_away(
        tmp_path, "max_inflight_messages 20\nmax_queued_messages 100\n", burst, timeout=120
    )

    assert acknowledged == burst, "the gateway got a PUBACK for every message: it cannot know"
    delivered = received - 1  # the one sent after carewatch came back
    assert delivered < burst / 2, f"the broker should have dropped most of the burst, it delivered {delivered}"
    assert stats.messages_missing == burst - delivered
    [gap] = stats.gateway_gaps
    assert (gap.gateway_id, gap.messages_missing, gap.resets, gap.last_seq) == (GATEWAY, burst - delivered, 0, burst + 1)
    assert stats.readings_accepted == received * READINGS_PER_MESSAGE


@pytest.mark.timeout(900)
@pytest.mark.parametrize("burst", [1_000, pytest.param(10_000, marks=pytest.mark.slow)], ids=["10k-readings", "100k-readings"])
async def test_a_burst_through_the_shipped_broker_settings_arrives_whole(tmp_path, burst):
    acknowledged, received, stats = await burst_while_carewatch_is_away(
        tmp_path, shipped_flow_settings(), burst, timeout=max(120, burst * 0.078)
    )

    assert acknowledged == burst and received == burst + 1
    assert stats.messages_missing == 0 and stats.gateway_gaps == []
    assert stats.readings_accepted == (burst + 1) * READINGS_PER_MESSAGE
