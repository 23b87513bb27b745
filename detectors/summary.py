"""What a household's monitor has learned of its routine, in plain values for duty staff.

Read-only: nothing here learns or judges.  The figures come from the learned detectors
(`quiet`, `night`, `volume`) as they stand, so the household page shows exactly the
routine the alerts are judged against: how many normal days are learned and whether the
warm-up is over, when the household usually first uses water or gas in the morning, its
sleeping hours, its usual litres a day, and how long a quiet spell is still usual at each
hour of the day.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import Any

from carewatch.domain import MeterKind
from detectors.household import HouseholdMonitor
from detectors.night import NightUse
from detectors.quiet import QuietSpell
from detectors.routine import QUARTERS_PER_DAY
from detectors.volume import DailyVolume

_NIGHT_FALLBACK_QUARTER = 12
"""03:00: where the morning is looked for when no sleeping hours are learned yet."""


@dataclass(frozen=True, slots=True)
class RoutineSummary:
    """The learned routine of one household (None: not learned yet, or no meter of that kind)."""

    learning: bool
    """False when the household's rules turn the learned detectors off."""
    days_learned: int
    """Normal days remembered (at most the learning window, 28 by default)."""
    warmup_days: int
    """Normal days needed before the learned detectors may raise alerts."""
    first_use: time | None
    """By when water or gas is usually first used in the morning (the median learned day)."""
    sleep: tuple[time, time] | None
    """The household's sleeping hours (start, end), local time."""
    usual_l: dict[MeterKind, int]
    """Litres used on a normal day (the median), per kind of meter the household has."""
    quiet_h: tuple[float, ...] | None
    """For each hour of the day (00:00, 01:00, …): hours without any use that are still usual
    then (None during the warm-up, when the learned quiet rule is silent)."""

    @property
    def warm(self) -> bool:
        return self.learning and self.days_learned >= self.warmup_days

    @property
    def longest_quiet(self) -> tuple[int, float] | None:
        """(hour, hours) of the day's longest usual quiet spell, or None."""
        if self.quiet_h is None:
            return None
        hour = max(range(24), key=lambda h: self.quiet_h[h])  # type: ignore[index]
        return hour, self.quiet_h[hour]

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values (times as ``HH:MM``), as the runners hand the summary to the console.

        >>> summary = RoutineSummary(True, 20, 14, time(7, 15), (time(22), time(6, 45)), {MeterKind.GAS: 150}, None)
        >>> summary.as_json()["sleep"], RoutineSummary.from_json(summary.as_json()) == summary
        (['22:00', '06:45'], True)
        """
        return {
            "learning": self.learning,
            "days_learned": self.days_learned,
            "warmup_days": self.warmup_days,
            "first_use": _hhmm(self.first_use),
            "sleep": [_hhmm(t) for t in self.sleep] if self.sleep else None,
            "usual_l": {kind.value: litres for kind, litres in sorted(self.usual_l.items())},
            "quiet_h": list(self.quiet_h) if self.quiet_h is not None else None,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RoutineSummary:
        """The summary `as_json` gave; raises KeyError or ValueError for anything else."""
        sleep = value["sleep"]
        return cls(
            learning=bool(value["learning"]),
            days_learned=int(value["days_learned"]),
            warmup_days=int(value["warmup_days"]),
            first_use=time.fromisoformat(value["first_use"]) if value["first_use"] is not None else None,
            sleep=(time.fromisoformat(sleep[0]), time.fromisoformat(sleep[1])) if sleep else None,
            usual_l={MeterKind(kind): int(litres) for kind, litres in value["usual_l"].items()},
            quiet_h=tuple(float(h) for h in value["quiet_h"]) if value["quiet_h"] is not None else None,
        )


def summarize(monitor: HouseholdMonitor) -> RoutineSummary:
    """The routine ``monitor`` has learned (its learners are read, never changed)."""
    rules = monitor.profile.rules
    learners = monitor.learners
    if not rules.learned or not learners:
        return RoutineSummary(False, 0, rules.warmup_days, None, None, {}, None)
    kinds = {meter.kind for meter in monitor.profile.meters}
    return summarize_learners(learners["quiet"], learners["night"], learners["volume"], monitor.profile.timezone, kinds)


def summarize_learners(
    quiet: QuietSpell, night: NightUse, volume: DailyVolume, tz: tzinfo, kinds: set[MeterKind] | None = None
) -> RoutineSummary:
    """The summary from the three learners themselves.

    >>> import random
    >>> from datetime import UTC
    >>> from detectors.routine import Day
    >>> rng = random.Random(42)
    >>> quiet, night, volume = QuietSpell(warmup_days=14), NightUse(warmup_days=14), DailyVolume(warmup_days=14)
    >>> def normal_day(date):  # up at about 07:00, some use every hour, in bed by 22:00
    ...     wake = 28 + rng.randint(-1, 2)
    ...     active = sum(1 << q for q in range(wake, 88, 4))
    ...     return Day(date, active, rng.uniform(0.4, 0.7), rng.uniform(0.08, 0.14), True)
    >>> for date in range(739000, 739009):
    ...     day = normal_day(date)
    ...     for learner in (quiet, night, volume):
    ...         learner.learn_one(day)
    >>> early = summarize_learners(quiet, night, volume, UTC)
    >>> early.days_learned, early.warm, early.quiet_h
    (9, False, None)
    >>> for date in range(739009, 739021):
    ...     day = normal_day(date)
    ...     for learner in (quiet, night, volume):
    ...         learner.learn_one(day)
    >>> summary = summarize_learners(quiet, night, volume, UTC)
    >>> summary.days_learned, summary.warm, summary.first_use, summary.sleep
    (21, True, datetime.time(7, 15), (datetime.time(22, 0), datetime.time(6, 45)))
    >>> summary.usual_l[MeterKind.GAS], summary.usual_l[MeterKind.WATER]
    (568, 110)
    >>> summary.quiet_h[3], summary.quiet_h[12], summary.longest_quiet
    (8.75, 3.25, (9, 12.0))
    """
    kinds = kinds if kinds is not None else set(MeterKind)
    sleep = night.sleep()
    return RoutineSummary(
        learning=True,
        days_learned=quiet.days_learned,
        warmup_days=quiet.warmup_days,
        first_use=_first_use(quiet, sleep, tz),
        sleep=None if sleep is None else (_clock(sleep[0]), _clock(sleep[0] + sleep[1])),
        usual_l=_usual_litres(volume, kinds),
        quiet_h=tuple(quiet.limit_h((4 * hour - 1) % QUARTERS_PER_DAY) for hour in range(24)) if quiet.warm else None,
    )


def _hhmm(at: time | None) -> str | None:
    return at.strftime("%H:%M") if at is not None else None


def _clock(quarter: int) -> time:
    quarter %= QUARTERS_PER_DAY
    return time(quarter // 4, 15 * (quarter % 4))


def _first_use(quiet: QuietSpell, sleep: tuple[int, int] | None, tz: tzinfo) -> time | None:
    """The median learned day's first use after the middle of the night."""
    night = (sleep[0] + sleep[1] // 2) % QUARTERS_PER_DAY if sleep else _NIGHT_FALLBACK_QUARTER
    since = datetime(2024, 1, 1, night // 4, 15 * (night % 4), tzinfo=tz)  # any day: only the clock time counts
    waits = quiet.waits_after(since.timestamp(), tz)
    if not waits:
        return None
    return _clock(night + round(statistics.median_low(waits) * 4))


def _usual_litres(volume: DailyVolume, kinds: set[MeterKind]) -> dict[MeterKind, int]:
    usual = {}
    for kind in kinds:
        learned = volume.learned_litres(kind)
        if learned:
            usual[kind] = round(statistics.median(learned))
    return usual
