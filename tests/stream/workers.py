"""Helpers for tests that start, kill and watch real `carewatch worker` processes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from alerts.models import Alert
from alerts.store import AlertStore
from carewatch.db import make_engine, make_sessions
from carewatch.domain import AlertType
from carewatch.kafka import ensure_topics, group_lag
from carewatch.schema import create_schema
from carewatch.settings import Settings
from carewatch.runners.faust.app import ASSIGNED
from carewatch.runners.faust.alert_service import running_alert_service
from carewatch.runners.faust.system import WorkerProcess


def worker(settings: Settings, workdir: Path, name: str) -> WorkerProcess:
    """A worker with its own data directory, as on its own machine."""
    own = settings.model_copy(update={"stream_data_dir": workdir / f"{name}-data"})
    return WorkerProcess(own, workdir / f"{name}.log")


@contextlib.asynccontextmanager
async def alert_service(settings: Settings) -> AsyncIterator[object]:
    engine = make_engine(settings.database_url)
    await create_schema(engine)
    sessions = make_sessions(engine)
    await ensure_topics(settings)
    try:
        async with running_alert_service(settings, sessions):
            yield sessions
    finally:
        await engine.dispose()


async def wait_for_progress(settings: Settings, total: int, timeout: float = 60.0) -> int:
    """Wait until the workers committed some but not all of ``total`` readings; returns the lag then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lag = await group_lag(settings, settings.stream_app_id, [settings.kafka_topic_readings])
        if lag < total:
            return lag
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the workers committed nothing of {total} readings in {timeout:.0f} s")


def partitions_held(process: WorkerProcess) -> list[int]:
    """The readings partitions the worker said it holds at its latest assignment (from its log)."""
    held: list[int] = []
    for line in process.log_path.read_text(errors="replace").splitlines():
        if ASSIGNED in line:
            held = [int(p) for p in line.split(ASSIGNED, 1)[1].strip(" []").split(",") if p.strip()]
    return held


async def wait_for_silent_meters(sessions, process: WorkerProcess, timeout: float = 60.0) -> Sequence[Alert]:  # type: ignore[no-untyped-def]
    """The meter_silent alerts, once there is one (the worker must stay alive meanwhile)."""
    async with asyncio.timeout(timeout):
        while True:
            process.check_alive()
            if silent := await AlertStore(sessions).list(alert_type=AlertType.METER_SILENT):
                return silent
            await asyncio.sleep(0.25)
