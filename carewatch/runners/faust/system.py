"""Running the scaled-out pieces together: worker processes, and waiting for them and the alert service
(`carewatch.runners.faust.alert_service`).

Used by `carewatch demo --engine faust`, the stream tests and the benchmark.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson

from carewatch.runners.faust.alert_service import reports_group_id, summaries_group_id, usage_group_id
from carewatch.kafka import answers_topic, summaries_topic, wait_until_consumed
from carewatch.settings import Settings


def settings_environment(settings: Settings) -> dict[str, str]:
    """The settings as CAREWATCH_* variables, for a child process (pydantic reads them back; lists as JSON)."""
    return {
        f"CAREWATCH_{name.upper()}": orjson.dumps(value).decode() if isinstance(value, list | dict) else str(value)
        for name, value in settings.model_dump(mode="json").items()
        if value is not None
    }


class WorkerProcess:
    """One `carewatch worker` as a real OS process (so a test can kill -9 it)."""

    def __init__(self, settings: Settings, log_path: Path):
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.settings.stream_data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115  (the child keeps it)
        # The child gets this process's environment plus our settings, which win.
        environment = {**os.environ, **settings_environment(self.settings)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "carewatch.runners.faust"], env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    def kill(self) -> None:
        """Crash: SIGKILL, no shutdown, no last commit."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful: SIGTERM lets Faust commit and leave the group."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"the Faust worker exited with {self.process.returncode}; its log: {self.log_path}\n"
                + self.log_path.read_text(errors="replace")[-3000:]
            )


async def wait_until_judged_and_stored(
    settings: Settings, workers: list[WorkerProcess] | None = None, timeout: float = 120.0
) -> None:
    """Wait until the workers committed every reading and answer now on Kafka, and the alert service every
    detection, dead letter, gateway status, reading (its hourly use) and household summary."""
    waiting = asyncio.create_task(
        wait_until_consumed(
            settings, settings.stream_app_id, [settings.kafka_topic_readings, answers_topic(settings)], timeout, "Faust workers"
        )
    )
    while not waiting.done():
        for worker in workers or ():
            if worker.process is not None and worker.process.poll() is not None:
                waiting.cancel()
                worker.check_alive()
        await asyncio.sleep(0.2)
    await waiting
    await wait_until_consumed(
        settings, settings.alerts_group_id, [settings.kafka_topic_detections], timeout, "the alert service"
    )
    await wait_until_consumed(
        settings, reports_group_id(settings), [settings.kafka_topic_dead_letters, settings.kafka_topic_gateway_status],
        timeout, "the alert service's ingest reports",
    )
    await wait_until_consumed(
        settings, usage_group_id(settings), [settings.kafka_topic_readings], timeout, "the alert service's hourly use"
    )
    await wait_until_consumed(
        settings, summaries_group_id(settings), [summaries_topic(settings)], timeout, "the alert service's household summaries"
    )
