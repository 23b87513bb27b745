"""Silent meters: a meter that stopped reporting is a device or network problem
for a technician — never evidence about the elder.

Absence of events cannot be seen from events, so this rule runs on `Tick`s (a
watermark: no more readings are expected before it).

A silence is judged against the meter's own history (detectors.cadence): real meters
report at irregular minutes and go quiet for hours now and then, so "k configured
intervals" would make every ordinary gap a ticket.  Two streams are learned: each
meter's, and the household's (its gateway's) — the gaps between any two of its
readings, whichever meter sent them.  A gateway that died silences every meter at
once, which ordinary gaps of independent meters rarely do, so the household's own
gaps are short and it is told within hours — after `silent_apart_factor` times as long
when its meters did not go quiet together (one already in a gap of its own before the
household's newest reading: the others' ordinary gaps are longer than those of every meter
together, which the threshold is learned from); one meter silent while the
others report is told once it is silent far longer than it ever is — or than its tail,
extrapolated, says it ever will be (detectors.cadence) — within a week at most (the household is
still watched through the others).  Until a stream has learned `silent_warmup_gaps` gaps,
the configured interval is the prior: silent after `silent_after_intervals` of them.

A gateway's own word is faster than its silence: the broker publishes its MQTT last will
("offline") when it is gone.  A household whose gateway has been offline that way for
`silent_offline_grace_h` has every meter silent at once, however long its learned gaps are;
the gateway counts as back with its "online" status or any reading newer than the will.
With `silent_wait_while_online` a household whose gateway is known online (its last status)
waits, for every meter at once, as long as for one meter (its own learned threshold): a
gateway that loses readings but stays connected is not a dead one, and a dead one says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from carewatch.domain import AlertType, Detection, Transition
from detectors import explain
from detectors.base import RaisedConditions, detection, instant
from detectors.cadence import ReportingCadence, pack, unpack
from detectors.config import HouseholdProfile
from detectors.history import MeterHistory


HOUSEHOLD = ""
"""`SilenceWatch.tolerated`'s key for the household's own stream (every meter silent at once)."""
TOLERANCE = 1.25
"""A gap taught by an outcome is tolerated with this margin (a bin of the learned cadence is 19 % wide)."""


class SilenceWatch:
    """Per-household state of the silence rule: when the monitor first saw time
    pass (the reference for meters that never reported), the silent meters it is
    waiting to hear from, and the learned cadences — each meter's and the
    household's (with the time of the household's newest reading, where its next
    gap starts).

    >>> watch = SilenceWatch()
    >>> watch.first_tick_s is None, watch.waiting, watch.household.learned
    (True, (), 0)
    """

    __slots__ = ("first_tick_s", "waiting", "heard_s", "household", "meters", "tolerated", "offline_s", "online")

    def __init__(self) -> None:
        self.first_tick_s: float | None = None
        self.waiting: tuple[str, ...] = ()
        self.heard_s = -math.inf
        """The household's newest reading, from any meter."""
        self.household = ReportingCadence()
        """Gaps between the household's readings, whichever meter sent them."""
        self.meters: dict[str, ReportingCadence] = {}
        """Each meter's gaps."""
        self.tolerated: dict[str, float] = {}
        """Gaps a person said were a meter's own (a "meter fault" outcome on a silent-meter ticket), by
        meter id, the household's own under `HOUSEHOLD`: a silence up to this long is not a ticket."""
        self.offline_s: float | None = None
        """When the household's gateway went offline by its last will (None: online, or never heard)."""
        self.online = False
        """The gateway's last status was "online" (False: offline, or not heard since the monitor began)."""

    def meter(self, meter_id: str) -> ReportingCadence:
        cadence = self.meters.get(meter_id)
        if cadence is None:
            cadence = self.meters[meter_id] = ReportingCadence()
        return cadence

    def keep_only(self, meter_ids: tuple[str, ...]) -> None:
        """Forget the cadence of a meter no longer listed (a replaced meter starts afresh)."""
        self.meters = {m: c for m, c in self.meters.items() if m in meter_ids}
        self.tolerated = {m: g for m, g in self.tolerated.items() if m in meter_ids or m == HOUSEHOLD}

    def __getstate__(self) -> tuple[object, ...]:
        # Every cadence in one blob of 16-bit numbers (a few bytes each), the meter ids beside it.
        ids = tuple(self.meters)
        state = (self.first_tick_s, self.waiting, self.heard_s, ids, pack([self.household, *self.meters.values()]))
        if self.online:
            return state + (tuple(self.tolerated.items()), None, True)
        if self.offline_s is not None:  # rare: the usual state stays as it was before gateways were heard
            return state + (tuple(self.tolerated.items()), self.offline_s)
        return state + (tuple(self.tolerated.items()),) if self.tolerated else state

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        if len(state) == 2 and state[0] is None and isinstance(state[1], dict):
            # Pickled before cadences were learned (slots as a dict): they start afresh, on the prior.
            self.__init__()  # type: ignore[misc]
            self.first_tick_s, self.waiting = state[1]["first_tick_s"], state[1]["waiting"]
            return
        self.first_tick_s, self.waiting, self.heard_s, ids, blob, *rest = state
        self.tolerated = dict(rest[0]) if rest else {}
        self.offline_s = rest[1] if len(rest) > 1 else None
        self.online = len(rest) > 2 and rest[2]
        self.household, *meters = unpack(blob)
        self.meters = dict(zip(ids, meters, strict=True))

    def __repr__(self) -> str:
        return f"SilenceWatch(first_tick_s={self.first_tick_s}, waiting={self.waiting}, offline_s={self.offline_s})"


class SilentMeterRule:
    """meter_silent for one household (warning, for a technician).

    A meter is silent when its newest reading is older than the tick minus how
    long it may go unheard (`after_s`: its learned threshold, or the prior of
    `silent_after_intervals` expected intervals); every meter is silent when the
    household has heard from none of them for longer than `household_after_s` (a
    gateway that died), or its gateway has been offline by its last will for
    `silent_offline_grace_h` (`gateway`).  One alert covers all silent meters of the
    household, with the earliest last-seen as onset.  It clears when every silent
    meter has sent a new reading.

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

    __slots__ = (
        "profile",
        "_prior_s",
        "_household_prior_s",
        "_upload_s",
        "_household_upload_s",
        "_heard_every_s",
        "_quantile",
        "_household_quantile",
        "_meter_factor",
        "_household_factor",
        "_together_quantile",
        "_tail_rate",
        "_tail_index",
        "_most_s",
        "_apart_factor",
        "_warmup",
        "_offline_grace_s",
        "_wait_while_online",
    )

    def __init__(self, profile: HouseholdProfile) -> None:
        self.profile = profile
        rules = profile.rules
        factor = rules.silent_after_intervals
        self._prior_s = {m.meter_id: m.silent_after_s(factor) for m in profile.meters}
        # The prior for the household: as soon as the first meter would have been called silent.
        self._household_prior_s = min(self._prior_s.values(), default=math.inf)
        # What a batch meter's news lags behind its readings (the upload slot): never learned from event time.
        self._upload_s = {m.meter_id: m.silent_after_s(0) for m in profile.meters}
        self._household_upload_s = min(self._upload_s.values(), default=0.0)
        self._heard_every_s = {m.meter_id: m.heard_every_s for m in profile.meters}
        self._quantile = rules.silent_quantile
        self._household_quantile = rules.silent_household_quantile
        self._meter_factor = rules.silent_meter_factor
        self._household_factor = rules.silent_household_factor
        self._together_quantile = rules.silent_together_quantile
        self._tail_rate = rules.silent_tail_rate
        self._tail_index = rules.silent_tail_index
        self._most_s = rules.silent_meter_most_h * 3600
        self._apart_factor = rules.silent_apart_factor
        self._warmup = rules.silent_warmup_gaps
        self._offline_grace_s = rules.silent_offline_grace_h * 3600
        self._wait_while_online = rules.silent_wait_while_online

    def after_s(self, watch: SilenceWatch, meter_id: str) -> float:
        """How long this meter may go unheard: its learned median gap plus `silent_meter_factor`
        times how far its `silent_quantile` gap reaches beyond it, never less than the prior;
        the prior during its warm-up.  A meter that has shown a tail waits at least as long as a
        gap its tail says comes once in `1 / silent_tail_rate` intervals: its longest learned gap
        is no bound on its next one.  Neither waits beyond `silent_meter_most_h` (the prior, or a
        gap a person taught, may): a dead meter is told within a week, whatever its gaps."""
        cadence = watch.meters.get(meter_id)
        prior_s = max(self._prior_s[meter_id], watch.tolerated.get(meter_id, 0.0))
        if cadence is None or cadence.learned < self._warmup:
            return prior_s
        learned_s = cadence.silent_after_s(self._quantile, self._meter_factor)
        tail_s = cadence.tail_reach_s(self._tail_rate, self._tail_index)
        if tail_s > learned_s:  # NaN (no tail) is not
            learned_s = tail_s
        return max(prior_s, min(learned_s, self._most_s) + self._upload_s[meter_id])

    def household_after_s(self, watch: SilenceWatch) -> float:
        """How long the household may hear from none of its meters (its gateway alive)."""
        cadence = watch.household
        prior_s = max(self._household_prior_s, watch.tolerated.get(HOUSEHOLD, 0.0))
        if cadence.learned < self._warmup:
            return prior_s
        learned_s = cadence.silent_after_s(self._household_quantile, self._household_factor) + self._household_upload_s
        return max(prior_s, learned_s)

    def fell_silent_together(self, watch: SilenceWatch, last_seen: Mapping[str, float], latest_s: float) -> bool:
        """Every meter was heard within its ordinary interval (its learned `silent_together_quantile`
        gap; the prior while warming up) before the household's newest reading: they went quiet
        together, as the meters of a dead gateway do.  A meter already inside a longer gap of its own
        leaves the household's stream to the other meters alone, whose ordinary gaps are far longer
        than those of every meter together (what the household's threshold is learned from)."""
        for meter_id, seen_s in last_seen.items():
            cadence = watch.meters.get(meter_id)
            if cadence is None or cadence.learned < self._warmup:
                usual_s = self._prior_s[meter_id]
            else:
                usual_s = cadence.quantile(self._together_quantile)
            if latest_s - seen_s > usual_s:
                return False
        return True

    def tick(
        self,
        histories: Mapping[str, MeterHistory],
        watch: SilenceWatch,
        raised: RaisedConditions,
        at_s: float,
    ) -> list[Detection]:
        if watch.first_tick_s is None:
            watch.first_tick_s = at_s
        offline = watch.offline_s is not None and at_s >= watch.offline_s + self._offline_grace_s
        for m, prior_s in self._prior_s.items():
            if offline:
                break
            times = histories[m].times
            if not times or times[-1] < at_s - prior_s:
                break
        else:
            # The usual tick: every meter heard within its prior, which no threshold (the household's
            # included, the least prior at most) is below.
            return []
        last_seen: dict[str, float] = {}
        for m in self._prior_s:  # a meter that never reported is measured from the first tick
            times = histories[m].times
            last_seen[m] = times[-1] if times else watch.first_tick_s
        # A threshold is never below its prior: a meter heard within the prior needs no learned one.
        limits = {
            m: limit
            for m, seen_s in last_seen.items()
            if seen_s < at_s - self._prior_s[m] and seen_s < at_s - (limit := self.after_s(watch, m))
        }
        silent = list(limits)
        if last_seen and len(silent) < len(last_seen) and not (self._wait_while_online and watch.online):
            latest_s = max(last_seen.values())
            if latest_s < at_s - self._household_prior_s and latest_s < at_s - (household_s := self.household_after_s(watch)):
                if not self.fell_silent_together(watch, last_seen, latest_s):
                    household_s *= self._apart_factor  # still told within hours, not by each meter's own tail
                if latest_s < at_s - household_s:
                    silent = list(last_seen)  # the gateway: every meter at once
                    limits = dict.fromkeys(last_seen, household_s)
        if offline and last_seen:
            silent = list(last_seen)  # the gateway said it is gone: every meter at once, now
            limits = dict.fromkeys(last_seen, at_s - min(last_seen.values()))
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
        if offline and watch.offline_s is not None:
            words = explain.gateway_offline(
                self.profile.gateway_id or "?", silent, watch.offline_s, since_s, at_s, self.profile.timezone
            )
        else:
            words = explain.meters_silent(silent, since_s, interval_s, at_s, self.profile.timezone)
        facts: dict[str, float | str] = {
            "since": instant(since_s).isoformat(),
            "silent_h": round((at_s - since_s) / 3600, 2),
            "expected_interval_s": interval_s,
            "silent_after_h": round(min(limits[m] for m in silent) / 3600, 2),
            "meters": ",".join(silent),
        }
        if offline and watch.offline_s is not None:
            facts["gateway_offline_since"] = instant(watch.offline_s).isoformat()
        return [detection(self.profile, alert, Transition.RAISED, raised.get(alert), at_s, words, facts)]

    def learn(self, watch: SilenceWatch, meter_id: str, previous_newest_s: float, at_s: float) -> None:
        """Learn the gaps a meter's newer reading closes: its own, and the household's.

        A gap longer than the threshold was a silence told (or one that should have
        been): it does not teach the cadence that such silences are normal — unless the
        stream is still warming up on the prior, when every gap is learned."""
        if at_s <= previous_newest_s:
            return
        # A gap within the prior is within the threshold, which is never below it: no need to work that out.
        if math.isfinite(previous_newest_s):
            cadence, gap_s = watch.meters.get(meter_id) or watch.meter(meter_id), at_s - previous_newest_s
            if cadence.learned < self._warmup or gap_s <= self._prior_s[meter_id] or gap_s <= self.after_s(watch, meter_id):
                cadence.learn_one(gap_s)
        if at_s > watch.heard_s:
            if math.isfinite(watch.heard_s):
                gap_s = at_s - watch.heard_s
                if (
                    watch.household.learned < self._warmup
                    or gap_s <= self._household_prior_s
                    or gap_s <= self.household_after_s(watch)
                ):
                    watch.household.learn_one(gap_s)
            watch.heard_s = at_s
        if watch.offline_s is not None and at_s > watch.offline_s:
            watch.offline_s = None  # a reading newer than the will came through: the gateway is back

    def gateway(self, watch: SilenceWatch, online: bool, at_s: float) -> None:
        """The household's gateway said it is online, or the broker said by its last will that it is
        offline; the next tick past the grace judges it (`tick`).  An offline heard again (the retained
        status redelivered on a reconnect) keeps the first time it was heard."""
        watch.online = online
        if online:
            watch.offline_s = None
        elif watch.offline_s is None:
            watch.offline_s = at_s

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
        self.learn(watch, meter_id, previous_newest_s, at_s)
        if meter_id not in watch.waiting or at_s <= previous_newest_s or watch.offline_s is not None:
            return []  # a late reading from before the gateway's last will is no sign that it is back
        watch.waiting = tuple(m for m in watch.waiting if m != meter_id)
        alert = AlertType.METER_SILENT
        if watch.waiting or alert not in raised:
            return []
        ended = raised.close(alert)
        words = explain.meters_reporting(ended.meter_ids, at_s, self.profile.timezone)
        return [detection(self.profile, alert, Transition.CLEARED, ended, at_s, words, {})]

    def taught_fault(self, watch: SilenceWatch, meter_ids: tuple[str, ...], gap_s: float, most_s: float) -> float:
        """A person said a silent-meter ticket was the meter's own gap (a "meter fault" outcome): the
        gap (at most `most_s`) is learned into each meter's cadence and tolerated from now on; when the
        ticket covered every meter of the household, by the household's stream too.  Returns the gap
        taught (0: nothing, for a meter not of this household or a gap of no length)."""
        meters = tuple(m for m in meter_ids if m in self._prior_s)
        gap_s = min(gap_s, most_s)
        if not meters or not gap_s > 0:
            return 0.0
        for meter_id in meters:
            watch.meter(meter_id).learn_one(gap_s)
            watch.tolerated[meter_id] = max(watch.tolerated.get(meter_id, 0.0), min(TOLERANCE * gap_s, most_s))
        if set(meters) == set(self._prior_s):
            watch.household.learn_one(gap_s)
            watch.tolerated[HOUSEHOLD] = max(watch.tolerated.get(HOUSEHOLD, 0.0), min(TOLERANCE * gap_s, most_s))
        return gap_s

