"""The one household-state record both runners keep: the detector state and the household's reading counts.

The embedded runner stores it in ``monitor_snapshots`` with every batch; a Faust worker keeps it
in its table (a bytes value per household, so the changelog holds exactly the state saved).
`loads` is the only place carewatch unpickles: both runners read their states through it, and
nothing else reads them.  What the console needs of a state (its counts, learned routine, meter health)
leaves the runners as a small `HouseholdSummaryRecord` (`summary_of`), never as a pickle.

Pickle is trusted here because only carewatch runners write these values: the embedded runner's
database, and a changelog topic only workers may write (restrict it with ACLs).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

from detectors.household import HouseholdMonitor
from detectors.summary import summarize
from ingest.summaries import HouseholdSummaryRecord

STATE_VERSION = 2
"""The record's format: a pickled tuple (version, monitor, accepted, duplicate, offset, heard).
Bump it when the tuple changes shape, and teach `loads` the old one (version 1: without ``heard``)."""

HEARD_KEPT = 64
"""Ids of what people said (`HouseholdState.heard`) kept per household: the alert service publishes again
at most what it read in its look-back (two days of answers and outcomes), a few per household."""


@dataclass(slots=True)
class HouseholdState:
    monitor: HouseholdMonitor
    readings_accepted: int = 0
    """Distinct readings judged: a redelivered reading is a duplicate and not counted again."""
    readings_duplicate: int = 0
    """Readings the gateways or the bridge sent again (same meter, time and register)."""
    offset: int = -1
    """On the Faust path, the offset of the newest readings-topic record applied: a household lives in
    one partition, so a record at or below it is Kafka redelivering work already done (after a crash
    or rebalance).  The embedded runner has no offsets and leaves it at -1."""
    heard: tuple[str, ...] = ()
    """On the Faust path, the ids of the newest answers and outcomes the monitor was told (answers-topic
    records, oldest first, at most `HEARD_KEPT`): one told again (Kafka redelivering, the alert service
    publishing it again until its receipt is on the alert, or after a restart) is not told to the monitor
    again, so each reaches the monitor once.  The embedded
    runner reads them from the alert store itself and leaves it empty."""

    def hear(self, record_id: str) -> None:
        """Note that the monitor was told ``record_id`` (the runner asks ``record_id in heard`` before telling it)."""
        self.heard = (*self.heard, record_id)[-HEARD_KEPT:]


def dumps(state: HouseholdState) -> bytes:
    """The stored form of ``state``: serialised at once, so a later change of the objects is not in it."""
    return pickle.dumps(
        (STATE_VERSION, state.monitor, state.readings_accepted, state.readings_duplicate, state.offset, state.heard),
        protocol=5,
    )


def loads(blob: bytes) -> HouseholdState:
    """A stored household state, in the current format or an older one.

    Also read: version 1 (nothing heard yet), and a bare pickled `HouseholdMonitor`, as the embedded runner
    stored it before this record existed (its reading counts were kept as totals only: they start at 0 here).
    """
    stored = pickle.loads(blob)  # noqa: S301  (written by carewatch runners only: see the module docstring)
    if isinstance(stored, HouseholdMonitor):
        return HouseholdState(stored)
    if isinstance(stored, tuple) and stored and stored[0] == STATE_VERSION:
        _, monitor, accepted, duplicate, offset, heard = stored
        return HouseholdState(monitor, accepted, duplicate, offset, heard)
    if isinstance(stored, tuple) and stored and stored[0] == 1:  # before the workers heard answers: none heard
        _, monitor, accepted, duplicate, offset = stored
        return HouseholdState(monitor, accepted, duplicate, offset)
    version = stored[0] if isinstance(stored, tuple) and stored else type(stored).__name__
    raise ValueError(
        f"stored household state has format {version!r}, this carewatch reads versions 1 to {STATE_VERSION} "
        "and bare monitors; run the release that wrote it, or rebuild the state"
    )


def summary_of(household_id: str, state: HouseholdState) -> HouseholdSummaryRecord:
    """What the console shows of the state: the reading counts, the learned routine and each meter's health."""
    return HouseholdSummaryRecord(
        household_id, state.readings_accepted, state.readings_duplicate, summarize(state.monitor), state.monitor.meter_health()
    )
