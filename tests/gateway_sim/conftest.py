"""Fixtures for the gateway simulator's tests (the broker is tests/conftest.py's ``mosquitto_broker``)."""

from __future__ import annotations

import pytest

from gateway_sim import SimConfig, SimMessage, Simulation
from tests.gateway_sim.published import Published, readings_by_meter


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
