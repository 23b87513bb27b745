"""Real services for tests, on free loopback ports. Under CI=true a missing one fails the run."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get("CAREWATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
"""A PostgreSQL database the tests may connect to and CREATE DATABASE from (default: the local server, trust auth)."""


def missing_service(what: str) -> None:
    """Fail under CI (a service must never silently skip there); skip on a developer machine."""
    if IN_CI:
        pytest.fail(f"{what} is required and missing (CI=true: .ci/run should have installed it)")
    pytest.skip(f"{what} is not available here")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"service exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


@contextmanager
def mosquitto(workdir: Path, extra_config: str = "", port: int | None = None) -> Iterator[tuple[str, int]]:
    """A private Mosquitto on a free port (never 1883, where a system broker may listen), or on ``port`` (a restart)."""
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if binary is None:
        missing_service("the mosquitto binary (Debian package 'mosquitto')")
    port = port or free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        "max_inflight_messages 1000\n"
        "max_queued_messages 100000\n"
        f"{extra_config}"
    )
    log = (workdir / "mosquitto.log").open("wb")
    process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


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
