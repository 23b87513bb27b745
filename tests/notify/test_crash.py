"""Kill the dispatcher (SIGKILL, a real process) between "the provider took it" and "we recorded it", restart it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from alerts.notify_tables import MessageStatus
from tests.notify.conftest import message, rows, write
from tests.notify.receivers import http_receiver

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.service  # the dispatcher runs as a real process


def start_dispatcher(database_url: str, sms_url: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.notify.dispatcher_process", database_url, sms_url],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


async def wait_until_all_sent(sessions, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while {row.status for row in await rows(sessions)} != {MessageStatus.SENT}:
        assert time.monotonic() < deadline, Counter(row.status for row in await rows(sessions))
        await asyncio.sleep(0.1)


async def test_a_dispatcher_killed_mid_batch_loses_nothing_and_the_key_prevents_a_double_send(sessions, clock, database_url):
    batch = [message(n, "sms", f"+86137000000{n:02d}") for n in range(20)]
    await write(sessions, batch, clock.now)

    with http_receiver(hang_on=7) as provider:  # the 7th message is taken, then its sender dies before the answer
        first = start_dispatcher(database_url, provider.url)
        try:
            assert await asyncio.to_thread(provider.hung.wait, 15), "the dispatcher never reached the 7th message"
            os.kill(first.pid, signal.SIGKILL)
            first.wait(5)
        finally:
            if first.poll() is None:
                first.kill()
        provider.release.set()
        statuses = Counter(row.status for row in await rows(sessions))
        assert statuses[MessageStatus.SENDING] >= 1, f"killed mid-batch: some messages were claimed, not recorded ({statuses})"

        second = start_dispatcher(database_url, provider.url)
        try:
            await wait_until_all_sent(sessions)
        finally:
            second.kill()
            second.wait(5)

    keys = {m.idempotency_key for m in batch}
    requests = Counter(r.headers["idempotency-key"] for r in provider.requests)
    assert set(requests) == keys, "nothing lost"
    resent = {key for key, count in requests.items() if count > 1}
    assert len(resent) == 1 and requests[resent.pop()] == 2, "only the message in flight at the crash was sent again"
    assert provider.effects() == keys and len(provider.effects()) == 20, (
        "with the same Idempotency-Key on the resend, a provider that honours it sends each SMS once"
    )
