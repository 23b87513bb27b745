"""The wall clock, in one place: what the runners, the alert store and the dispatcher read unless a
test, a replay or the console demo (``PacedClock``) hands them another clock (detectors never read it:
their time is in the events)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


class PacedClock:
    """Simulated time that runs at a pace which can change while it runs: the console demo's one clock.

    ``pace`` is simulated seconds per wall second (0: the clock stands still). Changing it never moves the
    clock back: the new pace counts from the simulated time reached. A change can be set ahead for a simulated
    moment (``change_at``); it happens exactly then, whoever reads the clock. Everything the console demo stamps
    or waits on (alerts, acknowledgements, the audit trail, the ladder, the shift handoff, the board's "time
    open") reads this clock, so no page mixes simulated January with today's wall clock.

    >>> wall = [100.0]
    >>> clock = PacedClock(datetime(2026, 1, 5, tzinfo=UTC), pace=3600.0, monotonic=lambda: wall[0])
    >>> wall[0] += 2.0  # two wall seconds, fast: two simulated hours
    >>> clock().isoformat()
    '2026-01-05T02:00:00+00:00'
    >>> clock.change_at(datetime(2026, 1, 5, 3, tzinfo=UTC), 1.0)  # real time from 03:00 on
    >>> wall[0] += 1.0 + 90.0  # an hour fast, then 90 s at real time
    >>> clock().isoformat(), clock.pace
    ('2026-01-05T03:01:30+00:00', 1.0)
    >>> clock.wall_seconds_until(datetime(2026, 1, 5, 3, 2, tzinfo=UTC))
    30.0
    """

    __slots__ = ("_monotonic", "_pace", "_sim_anchor", "_then", "_wall_anchor")

    def __init__(self, start: datetime, pace: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        _check(pace)
        self._monotonic = monotonic
        self._sim_anchor = start.astimezone(UTC)
        self._wall_anchor = monotonic()
        self._pace = pace
        self._then: tuple[datetime, float] | None = None

    def __call__(self) -> datetime:
        wall = self._settled()
        return self._sim_anchor + timedelta(seconds=(wall - self._wall_anchor) * self._pace)

    @property
    def pace(self) -> float:
        """Simulated seconds per wall second, now."""
        self._settled()
        return self._pace

    def set_pace(self, pace: float) -> None:
        """From now on run at ``pace``; a change set ahead is dropped."""
        _check(pace)
        now = self()
        self._sim_anchor, self._wall_anchor, self._pace, self._then = now, self._monotonic(), pace, None

    def change_at(self, moment: datetime, pace: float) -> None:
        """Run at ``pace`` from the simulated ``moment`` on (at once if it is past); replaces a change set before."""
        _check(pace)
        if moment <= self():
            self.set_pace(pace)
        else:
            self._then = (moment.astimezone(UTC), pace)

    def drop_change(self) -> None:
        """Forget a change set ahead."""
        self._settled()
        self._then = None

    def wall_seconds_until(self, moment: datetime) -> float:
        """Wall seconds until the clock reads ``moment`` at the present pace (0 when it is past; inf when it stands)."""
        ahead = (moment - self()).total_seconds()
        if ahead <= 0:
            return 0.0
        return ahead / self._pace if self._pace else float("inf")

    def _settled(self) -> float:
        """The wall time now, after making a change set ahead whose moment has come."""
        wall = self._monotonic()
        if self._then is not None and self._pace > 0:
            moment, pace = self._then
            reached = self._wall_anchor + (moment - self._sim_anchor).total_seconds() / self._pace
            if wall >= reached:
                self._sim_anchor, self._wall_anchor, self._pace, self._then = moment, reached, pace, None
        return wall


def _check(pace: float) -> None:
    if not pace >= 0:
        raise ValueError(f"pace must be 0 or more (simulated seconds per wall second), got {pace}")
