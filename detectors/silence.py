"""Silent meters: a meter that stopped reporting is a device or network problem
for a technician — never evidence about the elder.

Absence of events cannot be seen from events, so this rule runs on `Tick`s (a
watermark: no more readings are expected before it).
"""

from __future__ import annotations

from collections.abc import Mapping

from carewatch.domain import AlertType, Detection, Transition
from detectors import explain
from detectors.base import RaisedConditions, detection, instant
from detectors.config import HouseholdProfile
from detectors.history import MeterHistory


class SilenceWatch:
    """Per-household state of the silence rule: when the monitor first saw time
    pass (the reference for meters that never reported) and the silent meters
    it is waiting to hear from.

    >>> watch = SilenceWatch()
    >>> watch.first_tick_s is None, watch.waiting
    (True, ())
    """

    __slots__ = ("first_tick_s", "waiting")

    def __init__(self) -> None:
        self.first_tick_s: float | None = None
        self.waiting: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"SilenceWatch(first_tick_s={self.first_tick_s}, waiting={self.waiting})"


class SilentMeterRule:
    """meter_silent for one household (warning, for a technician).

    A meter is silent when its newest reading is older than the tick minus
    `silent_after_intervals` expected intervals; one alert covers all silent
    meters of the household, with the earliest last-seen as onset.  It clears
    when every silent meter has sent a new reading.

    >>> from datetime import datetime, UTC
    >>> from carewatch.domain import MeterKind
    >>> from detectors.config import MeterProfile
    >>> profile = HouseholdProfile("hh-1", (MeterProfile("gas-0007", MeterKind.GAS),))
    >>> rule, watch, raised, gas = SilentMeterRule(profile), SilenceWatch(), RaisedConditions(), MeterHistory()
    >>> last_s = datetime(2024, 1, 5, 3, 15, tzinfo=UTC).timestamp()
    >>> gas.insert(last_s, 12.5)
    >>> rule.tick({"gas-0007": gas}, watch, raised, last_s + 3600)  # 4 intervals: not yet
    []
    >>> [alert] = rule.tick({"gas-0007": gas}, watch, raised, last_s + 3601)
    >>> print(alert.explanation.en)
    Meter gas-0007 has sent nothing since 03:15 (expected every 15 min) — device or network problem, not an elder problem.
    >>> gas.insert(last_s + 7200, 12.5)
    >>> [cleared] = rule.heard(watch, raised, "gas-0007", last_s, last_s + 7200)
    >>> cleared.transition.value, cleared.onset == alert.onset
    ('cleared', True)
    """

    __slots__ = ("profile", "_after_s", "_heard_every_s")

    def __init__(self, profile: HouseholdProfile) -> None:
        self.profile = profile
        factor = profile.rules.silent_after_intervals
        self._after_s = {m.meter_id: m.silent_after_s(factor) for m in profile.meters}
        self._heard_every_s = {m.meter_id: m.heard_every_s for m in profile.meters}

    def tick(
        self,
        histories: Mapping[str, MeterHistory],
        watch: SilenceWatch,
        raised: RaisedConditions,
        at_s: float,
    ) -> list[Detection]:
        if watch.first_tick_s is None:
            watch.first_tick_s = at_s
        last_seen = {m: self._last_seen(histories[m], watch.first_tick_s) for m in self._after_s}
        silent = [m for m, seen_s in last_seen.items() if seen_s < at_s - self._after_s[m]]
        if not silent:
            return []
        watch.waiting += tuple(m for m in silent if m not in watch.waiting)
        alert = AlertType.METER_SILENT
        if alert in raised:
            raised.widen(alert, tuple(silent))
            return []
        since_s = min(last_seen[m] for m in silent)
        if not raised.open(alert, since_s, tuple(silent)):
            return []
        interval_s = min(self._heard_every_s[m] for m in silent)
        words = explain.meters_silent(silent, since_s, interval_s, at_s, self.profile.timezone)
        facts = {
            "since": instant(since_s).isoformat(),
            "silent_h": round((at_s - since_s) / 3600, 2),
            "expected_interval_s": interval_s,
            "meters": ",".join(silent),
        }
        return [detection(self.profile, alert, Transition.RAISED, raised.get(alert), at_s, words, facts)]

    def heard(
        self,
        watch: SilenceWatch,
        raised: RaisedConditions,
        meter_id: str,
        previous_newest_s: float,
        at_s: float,
    ) -> list[Detection]:
        """A meter's newest reading moved on from `previous_newest_s` to `at_s`.

        Only a newer reading counts as reporting again: a late copy of an old
        one says nothing about whether the meter works now."""
        if meter_id not in watch.waiting or at_s <= previous_newest_s:
            return []
        watch.waiting = tuple(m for m in watch.waiting if m != meter_id)
        alert = AlertType.METER_SILENT
        if watch.waiting or alert not in raised:
            return []
        ended = raised.close(alert)
        words = explain.meters_reporting(ended.meter_ids, at_s, self.profile.timezone)
        return [detection(self.profile, alert, Transition.CLEARED, ended, at_s, words, {})]

    @staticmethod
    def _last_seen(history: MeterHistory, first_tick_s: float) -> float:
        """A meter that never reported is measured from the first tick."""
        return history.times[history.newest] if len(history) else first_tick_s

