"""The one household-state record: what both runners store, read back in every format they ever wrote."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import Pipeline
from carewatch.runners.state import HouseholdState, dumps, loads, summary_of
from carewatch.settings import Settings
from detectors.summary import summarize
from ingest.models import HouseholdSummary, MonitorSnapshot
from ingest.stats import read_stats
from tests.detectors.conftest import GAS, HOUSEHOLD, WATER, monitor_after


def test_a_state_reads_back_as_it_was_saved():
    state = loads(dumps(HouseholdState(monitor_after(20), readings_accepted=1900, readings_duplicate=4, offset=1903)))

    assert (state.readings_accepted, state.readings_duplicate, state.offset) == (1900, 4, 1903)
    assert summarize(state.monitor) == summarize(monitor_after(20))


def test_a_faust_changelog_value_of_version_1_is_read():
    """As `HouseholdState.dumps` wrote it on the Faust path before the record moved to the runners."""
    blob = pickle.dumps((1, monitor_after(20), 1900, 4, 1903), protocol=5)

    state = loads(blob)

    assert (state.readings_accepted, state.readings_duplicate, state.offset) == (1900, 4, 1903)
    assert summarize(state.monitor) == summarize(monitor_after(20))


def test_a_bare_monitor_from_an_embedded_database_is_read_with_no_counts_yet():
    """The embedded runner stored `pickle.dumps(monitor)` and counted readings only in totals."""
    state = loads(pickle.dumps(monitor_after(20)))

    assert (state.readings_accepted, state.readings_duplicate, state.offset) == (0, 0, -1)
    assert summarize(state.monitor) == summarize(monitor_after(20))


def test_a_state_of_another_version_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"format 7.*reads versions 1 to 2"):
        loads(pickle.dumps((7, monitor_after(1), 0, 0, -1)))


def test_the_summary_carries_the_counts_and_the_learned_routine():
    summary = summary_of(HOUSEHOLD, HouseholdState(monitor_after(20), 1900, 4))

    assert (summary.household_id, summary.readings_accepted, summary.readings_duplicate) == (HOUSEHOLD, 1900, 4)
    assert summary.routine == summarize(monitor_after(20))


REGISTRY = Registry.from_document({"version": 1, "households": [{
    "household_id": HOUSEHOLD, "timezone": "Asia/Shanghai",
    "meters": [{"meter_id": GAS, "kind": "gas"}, {"meter_id": WATER, "kind": "water"}],
}]})


async def test_the_embedded_runner_resumes_a_database_of_bare_monitors_and_summarises_them(sessions):
    async with sessions.begin() as session:
        session.add(MonitorSnapshot(household_id=HOUSEHOLD, state=pickle.dumps(monitor_after(20)), updated_at=datetime.now(UTC)))
    pipeline = Pipeline(registry=REGISTRY, sessions=sessions, settings=Settings(_env_file=None))  # type: ignore[call-arg]

    await pipeline.start()

    routine = summarize(monitor_after(20))
    assert routine.warm and summarize(pipeline.states[HOUSEHOLD].monitor) == routine
    async with sessions() as session:
        row = await session.get(HouseholdSummary, HOUSEHOLD)
        assert row is not None and row.routine == routine.as_json()
        assert (await read_stats(session)).readings_accepted == 0  # what was counted then is in the totals
