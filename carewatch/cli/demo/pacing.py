"""The console demo's pace: fast while nobody has anything to do, slow from shortly before each alert until
someone has acknowledged it, so a newcomer can watch it arrive, call and acknowledge before the ladder
tells the family.

One clock (`carewatch.clock.PacedClock`) is the demo's time for everything: the simulator publishes a
message when this clock reaches the message's time, and the alert store, the acknowledgements, the audit
trail, the ladder, the dispatcher, the shift handoff and the board's "time open" all read it. The pace
only changes how fast that one simulated time runs, never which time a page shows.

When an alert is expected comes from the detectors themselves, replayed over the simulation before it is
published (`carewatch.cli.evaluation.replay`): the simulation slows down ``lead`` of simulated time before
it. An alert nobody expected (or one raised later than expected) slows it down as soon as it is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.lifecycle import AlertStatus
from alerts.models import Alert
from carewatch.cli.evaluation.replay import LEARNED, replay
from carewatch.clock import PacedClock
from gateway_sim import Simulation

log = logging.getLogger(__name__)

STEP_S = 0.2
"""The longest the pacer sleeps before it looks again (an alert stored, one acknowledged)."""
AHEAD_AT_MOST = timedelta(minutes=20)
"""The clock stands still while it is further than this ahead of the newest reading judged (the gateways upload
every 15 minutes): when the machine cannot publish and judge as fast as ``fast`` asks, simulated time waits for
the simulation rather than run ahead of it, so an alert is never stored hours after its simulated moment."""
EXPECTED_FOR = timedelta(minutes=30)
"""How long after its expected time an alert that has not come keeps the pace slow."""


def expected_alerts(simulation: Simulation, stop: Callable[[], bool] | None = None) -> dict[str, datetime]:
    """Alert id → when the detectors will raise it (UTC), from a replay of the simulation (no broker, no database);
    ``stop``: asked as it goes, so a demo stopped meanwhile does not wait for the replay's thread."""
    raised = replay(simulation, [LEARNED], stop).alerts[LEARNED.name]
    return {alert.alert_id: alert.raised_at for alert in sorted(raised, key=lambda a: a.raised_at)}


@dataclass
class Pacer:
    """Sets the pace of ``clock``: ``fast`` while no alert is near or waiting, ``slow`` from ``lead`` before an
    expected alert until it has come, and while any alert is open (nobody has acknowledged it)."""

    clock: PacedClock
    fast: float
    slow: float
    lead: timedelta
    expected: Mapping[str, datetime]
    on_change: Callable[[str, datetime, float], None] = lambda why, at, pace: None
    """Told (reason, simulated time, new pace) whenever the pace changes: the demo prints it."""
    judged: Callable[[], datetime | None] = lambda: None
    """The newest reading's time the pipeline has judged (None: none yet)."""
    raised: set[str] = field(default_factory=set)
    open_alerts: int = 0
    finished: bool = False
    """The simulation has published everything: the console stays up, and its clock runs on at the slow pace."""
    behind: bool = False
    """The pipeline is behind the clock (more than AHEAD_AT_MOST): the clock stands still until it catches up."""
    changes: list[tuple[datetime, float]] = field(default_factory=list)
    """(simulated time, pace) of every change of the chosen pace, oldest first (not the stands while behind)."""
    chosen: float | None = None

    def pace_at(self, now: datetime) -> tuple[float, str]:
        """The pace the demo should run at ``now``, and why."""
        if self.open_alerts:
            return self.slow, "open"
        if self.finished:
            return self.slow, "finished"
        if any(at - self.lead <= now < at + EXPECTED_FOR for alert_id, at in self.expected.items() if alert_id not in self.raised):
            return self.slow, "near"
        return self.fast, "calm"

    def next_slow_down(self, now: datetime) -> datetime | None:
        """When the next expected alert's slow approach begins after ``now`` (None: no more are expected)."""
        starts = [at - self.lead for alert_id, at in self.expected.items() if alert_id not in self.raised and at - self.lead > now]
        return min(starts, default=None)

    def adjust(self) -> None:
        now = self.clock()
        judged = self.judged()
        self.behind = not self.finished and judged is not None and now > judged + AHEAD_AT_MOST
        pace, why = self.pace_at(now)
        if pace != self.chosen:
            self.chosen = pace
            self.changes.append((now, pace))
            self.on_change(why, now, pace)
        running = 0.0 if self.behind else pace
        if running != self.clock.pace:
            self.clock.set_pace(running)
        slow_down = self.next_slow_down(now) if running == self.fast else None
        if slow_down is not None:
            self.clock.change_at(slow_down, self.slow)  # exactly then, whoever reads the clock first
        else:
            self.clock.drop_change()

    async def wait_until(self, moment: datetime) -> None:
        """Return when the clock reads ``moment`` (the publisher's hook: a message is sent at its simulated time)."""
        while True:
            self.adjust()
            if self.clock() >= moment:
                return
            await asyncio.sleep(min(self.clock.wall_seconds_until(moment), STEP_S))

    def saw(self, alerts: Iterable[tuple[str, AlertStatus]]) -> None:
        """The alerts stored so far, with their status: open ones keep the pace slow."""
        alerts = list(alerts)
        self.raised = {alert_id for alert_id, _ in alerts}
        self.open_alerts = sum(status is AlertStatus.OPEN for _, status in alerts)
        self.adjust()

    async def watch(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Until cancelled: read the alerts' statuses and set the pace (an acknowledgement speeds the demo up again)."""
        while True:
            try:
                async with sessions() as session:
                    self.saw((row.id, row.status) for row in await session.execute(select(Alert.id, Alert.status)))
            except Exception:  # the demo's own SQLite file: a moment's lock is no reason to stop pacing
                log.exception("the demo could not read the alerts' statuses; pacing on what it knew")
            await asyncio.sleep(STEP_S)
