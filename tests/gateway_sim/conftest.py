"""Fixtures for the gateway simulator's tests.

``start_mosquitto`` is meant to move to tests/conftest.py for every room; it reuses
the free-port and CI helpers of tests/services.py.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway_sim import SimConfig, SimMessage, Simulation
from tests.gateway_sim.published import Published, readings_by_meter
from tests.services import free_port, missing_service, wait_for_port

MOSQUITTO = "/usr/sbin/mosquitto"


def start_mosquitto(tmp_path: Path) -> tuple[str, int, subprocess.Popen[bytes]]:
    """A private Mosquitto on a free loopback port (never 1883: a system broker listens there).

    The caller terminates the process.  A missing binary fails under CI=true and skips elsewhere.
    """
    binary = MOSQUITTO if Path(MOSQUITTO).exists() else shutil.which("mosquitto")
    if binary is None:
        missing_service("the mosquitto binary (/usr/sbin/mosquitto, Debian package 'mosquitto')")
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    log = (tmp_path / "mosquitto.log").open("wb")
    process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    log.close()  # the child keeps its own descriptor
    try:
        wait_for_port(port, process)
    except Exception:
        process.kill()
        raise
    return "127.0.0.1", port, process


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[tuple[str, int]]:
    host, port, process = start_mosquitto(tmp_path)
    try:
        yield host, port
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def week() -> Simulation:
    """50 households over 7 days with the default incident mix: the realism tests' material."""
    return Simulation(SimConfig(households=50, days=7.0, seed=1))


@pytest.fixture(scope="session")
def week_messages(week: Simulation) -> list[SimMessage]:
    return list(week.messages())


@pytest.fixture(scope="session")
def week_readings(week_messages: list[SimMessage]) -> dict[str, list[Published]]:
    """What carewatch would receive from the ``week``, per meter."""
    return readings_by_meter(week_messages)
