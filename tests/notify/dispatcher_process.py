"""A real dispatcher in its own process, for the crash test: ``python -m tests.notify.dispatcher_process DB_URL SMS_URL``."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import httpx

from alerts.channels.provider import ProviderChannel
from alerts.dispatcher import Dispatcher
from carewatch.db import make_engine, make_sessions


async def main(database_url: str, sms_url: str) -> None:
    engine = make_engine(database_url)
    async with httpx.AsyncClient(timeout=5) as client:
        channels = {"sms": ProviderChannel("sms", sms_url, None, client)}
        # A short lease so that the restarted dispatcher takes over the dead one's claim within the test.
        dispatcher = Dispatcher(make_sessions(engine), channels, lease=timedelta(seconds=1), batch_size=10)
        print("ready", flush=True)
        await dispatcher.run(every=0.05)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
