"""One household's monitor: readings and ticks in, transitions of alerts out.

Pure and event-time: time arrives only inside readings and ticks.  The state is
the evidence (a short history per meter), what is currently raised, the days not
yet closed and what the learned detectors remember; the rules are derived from
the profile and rebuilt after unpickling, so a Faust table stores only what a
replay could not recompute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from carewatch.domain import (
    AlertType, Audience, CheckInAnswer, Detection, Explanation, GatewayState, Lesson, MeterKind, OutcomeHeard, Reading,
    RejectReason, Severity, Tick, Transition,
)
from detectors import explain
from detectors.anomaly import RiverQuiet
from detectors.base import LEARNED_ALERTS, QUIET_ALERTS, RaisedConditions, detection, epoch, instant
from detectors.ceiling import DailyCeilingRule
from detectors.checkin import CheckInRule
from detectors.config import HouseholdProfile, MeterProfile
from detectors.flow import ContinuousFlowRule
from detectors.history import MeterHistory
from detectors.inactivity import InactivityRule
from detectors.meter_health import MeterHealthRule, MeterHealthSummary, MeterVitals
from detectors.night import NightUse, NightUseRule
from detectors.quiet import LearnedQuietRule, QuietSpell, evidence_of
from detectors.register import Outcome, RegisterFaultRule, RegisterGuard
from detectors.routine import MAX_GAP_S, USE_FROM_M3, DayBook, local_quarter
from detectors.silence import SilenceWatch, SilentMeterRule
from detectors.volume import DailyVolume, VolumeRule

_STATE_VERSION = 3
"""Bump when the pickled state changes shape, so an old table entry fails loudly (versions 1,
from before learning, and 2, from before meter health, are still read: see __setstate__)."""
_CARE = frozenset(t for t in AlertType if t.audience is Audience.CARE)
# Enum members the hot paths read, bound once: `Outcome.ACCEPT` is looked up through the enum's
# metaclass, ~0.15 µs each time in Python 3.11 (ten times a plain global).
_ACCEPT, _RESTART, _CHECK_IN = Outcome.ACCEPT, Outcome.RESTART, AlertType.CHECK_IN
_ENDED_BY_USE = QUIET_ALERTS | {_CHECK_IN}
"""The learned alerts a reading's use may end (one look for the usual reading, which has none open)."""
_GIVE_UP_ON_LAGGING_S = 2 * 86400.0
"""A meter this far behind the others no longer holds back the closing of days (they are
closed as unfit to learn from)."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What the monitor made of one reading.

    >>> Observation(rejection=RejectReason.UNKNOWN_METER, detail="meter x-1 is not registered")
    Observation(detections=(), rejection=<RejectReason.UNKNOWN_METER: 'unknown_meter'>, detail='meter x-1 is not registered', duplicate=False)
    """

    detections: tuple[Detection, ...] = ()
    rejection: RejectReason | None = None
    detail: str = ""
    duplicate: bool = False

    @property
    def accepted(self) -> bool:
        """A new reading taken in: neither refused nor a repeat of one already judged."""
        return self.rejection is None and not self.duplicate


_ACCEPTED = Observation()


class HouseholdMonitor:
    """Watches one household through its meters.

    `observe` judges a reading and re-evaluates the rules its meter affects;
    `tick` judges the passage of time (silent meters, the learned verdicts on
    the evidence delivered so far, a daily batch's household).  Both return
    transitions: an alert is RAISED once and CLEARED once.

    >>> from datetime import datetime, timedelta, UTC
    >>> from zoneinfo import ZoneInfo
    >>> from detectors.config import MeterProfile
    >>> profile = HouseholdProfile(
    ...     "hh-0007",
    ...     (MeterProfile("gas-0007", MeterKind.GAS), MeterProfile("water-0007", MeterKind.WATER)),
    ...     timezone=ZoneInfo("Asia/Shanghai"),
    ... )
    >>> monitor = HouseholdMonitor(profile)
    >>> start = datetime(2024, 1, 5, 11, 40, tzinfo=UTC)  # 19:40 in Shanghai
    >>> def reading(meter, kind, hours, register):
    ...     at = start + timedelta(hours=hours)
    ...     return Reading("hh-0007", meter, kind, at, register)
    >>> for hour in range(0, 27):  # water used every third hour, the gas never
    ...     for observation in (
    ...         monitor.observe(reading("gas-0007", MeterKind.GAS, hour, 81.2)),
    ...         monitor.observe(reading("water-0007", MeterKind.WATER, hour, 40 + 0.05 * (hour // 3))),
    ...     ):
    ...         for detection in observation.detections:
    ...             print(detection.alert_id, detection.transition.value, detection.at.hour)
    hh-0007.no_gas_24h.20240105T114000Z raised 11
    >>> monitor.observe(reading("gas-0007", MeterKind.GAS, 26, 81.2)).duplicate
    True
    >>> monitor.observe(reading("gas-0007", MeterKind.GAS, 26, 81.3)).rejection.value
    'conflicting_duplicate'
    >>> [d.alert_type.value for d in monitor.tick(Tick(start + timedelta(hours=28)))]
    ['meter_silent']
    """

    __slots__ = (
        "_profile",
        "_histories",
        "_raised",
        "_guard",
        "_silence",
        "_keep_s",
        "_min_use",
        "_inactivity",
        "_flow",
        "_ceiling",
        "_silent",
        "_faults",
        "_days",
        "_learners",
        "_quiet",
        "_check_in",
        "_night",
        "_volume",
        "_close_lag_s",
        "_away",
        "_batched",
        "_meter_ids",
        "_meters_by_id",
        "_vitals",
        "_health",
    )

    def __init__(self, profile: HouseholdProfile) -> None:
        self._histories: dict[str, MeterHistory] = {}
        self._raised = RaisedConditions()
        self._guard = RegisterGuard()
        self._silence = SilenceWatch()
        self._days = DayBook()
        self._learners: dict[str, Any] = {}
        self._vitals: dict[str, MeterVitals] = {}
        self._profile = profile
        self.profile = profile

    @property
    def profile(self) -> HouseholdProfile:
        return self._profile

    @property
    def learners(self) -> Mapping[str, Any]:
        """The learned detectors by name (quiet, night, volume, and river when switched on), to read;
        empty when learning is off."""
        return MappingProxyType(self._learners)

    @profile.setter
    def profile(self, profile: HouseholdProfile) -> None:
        """A changed profile (new thresholds in the registry) takes effect at once.

        The rules are re-derived from it; a new meter starts with no history,
        and the evidence of a meter no longer listed is dropped.
        """
        if profile.household_id != self._profile.household_id:
            raise ValueError(
                f"a monitor belongs to household {self._profile.household_id}, "
                f"not {profile.household_id}: create a new HouseholdMonitor"
            )
        self._profile = profile
        self._histories = {
            m.meter_id: self._histories.get(m.meter_id) or MeterHistory() for m in profile.meters
        }
        self._vitals = {m: vitals for m, vitals in self._vitals.items() if profile.meter(m) is not None}
        self._silence.keep_only(tuple(self._histories))
        self._tune_learners()
        self._derive_rules()

    def _tune_learners(self) -> None:
        """Learned state survives a profile change; only its settings follow the profile."""
        rules = self.profile.rules
        if not rules.learned:
            self._learners = {}
            return
        quiet = self._learners.get("quiet")
        coarse = any(m.interval_s > rules.fine_interval_s for m in self.profile.meters)
        settings = {
            "window_days": rules.learn_days,
            "warmup_days": rules.warmup_days,
            "grace_h": rules.quiet_grace_h,
            "pool_h": rules.quiet_pool_h,
            "margin_h": rules.quiet_margin_h + (rules.coarse_quiet_margin_h if coarse else 0.0),
            "floor_h": rules.quiet_floor_h,
            "pool_day": rules.quiet_pool_day,
            "check_in_rank": rules.check_in_rank,
            "check_in_grace_h": rules.check_in_grace_h + (rules.coarse_check_in_grace_h if coarse else 0.0),
            "check_in_floor_h": rules.check_in_floor_h,
            "check_in_day_reach_h": rules.check_in_day_reach_h,
            "check_in_day_anchor": rules.check_in_day_anchor,
        }
        if quiet is None:
            quiet = QuietSpell(**settings)
        elif any(getattr(quiet, name) != value for name, value in settings.items()):
            quiet = quiet.retuned(**settings)
        night = self._learners.get("night") or NightUse()
        volume = self._learners.get("volume") or DailyVolume()
        for learner in (night, volume):  # plain settings: nothing derived from them
            learner.warmup_days = rules.warmup_days
        river = self._learners.get("river")
        self._learners = {"quiet": quiet, "night": night, "volume": volume}
        if rules.river_quiet:  # opt-in: a river model's early warning of quiet (detectors.anomaly)
            river = river or RiverQuiet()
            river.warmup_days = rules.warmup_days
            self._learners["river"] = river

    def _derive_rules(self) -> None:
        profile, rules = self.profile, self.profile.rules
        window_s, gap_s = rules.inactivity_window_h * 3600, rules.continuity_max_gap_h * 3600
        # Keep a whole window for the inactivity and ceiling rules, and enough for
        # a continuous run to be seen from its start even if it outlasts the window.
        self._keep_s = {
            MeterKind.GAS: max(window_s, rules.gas_continuous_h * 3600 + gap_s),
            MeterKind.WATER: max(window_s, rules.water_continuous_h * 3600 + gap_s),
        }
        self._min_use = {MeterKind.GAS: rules.gas_min_use_m3, MeterKind.WATER: rules.water_min_use_m3}
        self._inactivity = InactivityRule(profile)
        self._flow = ContinuousFlowRule(profile)
        self._ceiling = DailyCeilingRule(profile)
        self._silent = SilentMeterRule(profile)
        self._faults = RegisterFaultRule(profile)
        self._health = MeterHealthRule(profile)
        self._quiet = LearnedQuietRule(profile)
        self._check_in = CheckInRule(profile)
        self._night = NightUseRule(profile)
        self._volume = VolumeRule(profile)
        self._batched = any(m.upload_every_s > 0 for m in profile.meters)
        self._meter_ids = tuple(m.meter_id for m in profile.meters)
        self._meters_by_id: dict[str, MeterProfile] = {}
        for m in profile.meters:  # as profile.meter finds them: the first of an id
            self._meters_by_id.setdefault(m.meter_id, m)
        # Days close a window late, so the 24 h rule has flagged an incident's day before it is learned.
        self._close_lag_s = window_s
        self._away = tuple((w.start.timestamp(), w.end.timestamp()) for w in profile.away)

    def observe(self, reading: Reading) -> Observation:
        meter = self._meters_by_id.get(reading.meter_id)
        if meter is None or reading.household_id != self._profile.household_id or reading.kind != meter.kind:
            return Observation(rejection=RejectReason.UNKNOWN_METER, detail=self._unknown(reading))
        meter_id, kind = meter.meter_id, meter.kind
        at_s, register_m3 = reading.at.timestamp(), reading.register_m3  # `epoch`, without the call
        if not math.isfinite(register_m3) or register_m3 < 0:
            # Ingest refuses these; one slipping through must not poison the history.
            return Observation(
                rejection=RejectReason.INVALID_VALUE,
                detail=f"meter {meter_id}: register {register_m3!r} m³ is not a finite, non-negative number",
            )
        history = self._histories[meter_id]
        if at_s < history.horizon:
            return Observation(
                detail=f"meter {meter_id}: reading at {reading.at.isoformat()} is older than the kept "
                f"history (from {instant(history.horizon).isoformat()}); accepted, but too late to "
                "change any verdict"
            )
        check = self._guard.check(meter_id, history, at_s, register_m3)
        outcome = check.outcome
        if outcome is not _ACCEPT:  # the usual reading skips the questions below
            if outcome is Outcome.DUPLICATE:
                return Observation(duplicate=True)
            if outcome is Outcome.CONFLICT:
                return Observation(rejection=RejectReason.CONFLICTING_DUPLICATE, detail=check.detail)
            if outcome is Outcome.BACKWARDS:
                faults = self._faults.rejected(self._guard, self._raised, meter_id, check, at_s, register_m3)
                return Observation(
                    detections=tuple(faults), rejection=RejectReason.REGISTER_WENT_BACKWARDS, detail=check.detail
                )

        previous_newest_s = history.times[-1] if history.times else -math.inf
        detail = ""
        if outcome is _RESTART:
            times, registers = zip(*check.restart, strict=True)
            history.restart(list(times), list(registers))
            restarted_from: float | None = registers[0]
            detail = (
                f"meter {meter_id}: {len(times)} agreeing readings below the old register; taken as a "
                f"reset or replaced meter, counting restarts from {registers[0]} m³"
            )
        else:
            index = history.place(at_s, register_m3)
            restarted_from = None
            if self._learners:
                self._book_use(kind, history, index)
        newest_s = history.times[-1]
        raised = self._raised
        # The guards below skip calls that could only answer nothing (no fault, no quiet alert,
        # no check-in open): the usual reading costs fewer calls.
        detections = (
            self._faults.accepted(self._guard, raised, meter_id, newest_s, restarted_from) if self._guard.faulty else []
        )
        detections += self._silent.heard(self._silence, raised, meter_id, previous_newest_s, newest_s)
        detections += self._health.heard(self._vitals, self._raised, reading, at_s)
        history.prune(self._keep_s[kind], self._min_use[kind])
        if not self._batched:
            detections += self._judge_inactivity(newest_s)
        detections += self._flow.judge(self._histories, self._raised, kind, newest_s)
        detections += self._ceiling.judge(self._histories, self._raised, kind, newest_s)
        if self._learners:
            if raised.any_of(_ENDED_BY_USE):
                if raised.any_of(QUIET_ALERTS):
                    detections += self._quiet.heard(self._days, raised, newest_s)
                if _CHECK_IN in raised:
                    detections += self._check_in.heard(self._days, raised, newest_s)
            if newest_s - self._close_lag_s >= self._days.next_close_s:  # the usual reading closes no day
                detections += self._close_days(newest_s)
            if detections:
                self._flag_days(detections)
        if not detections and not detail:
            return _ACCEPTED  # the usual reading: one frozen answer, not a new one each time
        return Observation(detections=tuple(detections), detail=detail)

    def _judge_inactivity(self, at_s: float) -> list[Detection]:
        """The seed rule, whatever the learned detectors said: its critical alert takes over an
        open learned warning (one alert per incident, and the more urgent one)."""
        judged = self._inactivity.judge(self._histories, self._raised, at_s)
        if not judged:
            return judged  # the usual reading
        critical = [
            d.alert_type for d in judged if d.transition is Transition.RAISED and d.severity is Severity.CRITICAL
        ]
        if self._learners and critical:
            judged += self._quiet.escalated(self._days, self._raised, at_s, into=critical[0])
            judged += self._check_in.superseded(self._days, self._raised, at_s)
        return judged

    def answered(self, answer: CheckInAnswer) -> tuple[Detection, ...]:
        """The elder answered a check-in ("I'm fine"): an event, like a reading, carrying its own time.

        The check-in ends quietly (no alert for family or staff), the spell counts as ended for the
        learned detectors (never for the 24 h rule), and the spell is learned as usual at that hour
        on that weekday.  An answer to another household, to a check-in no longer open, or older than
        the household's last use changes nothing.
        """
        if answer.household_id != self.profile.household_id:
            return ()
        learner = self._learners.get("quiet")
        return tuple(self._check_in.answered(learner, self._days, self._raised, answer))

    def gateway(self, status: GatewayState) -> None:
        """The household's gateway said it is online, or by its MQTT last will that it is offline: an event
        carrying its time, like an answer.  A gateway offline past `silent_offline_grace_h` makes every meter
        silent at the next tick (detectors.silence), without waiting for the learned silence threshold.  The
        status of another gateway changes nothing; nothing is raised or cleared by the status itself."""
        if status.gateway_id == self.profile.gateway_id:
            self._silent.gateway(self._silence, status.online, epoch(status.at))

    def learn_outcome(self, heard: OutcomeHeard) -> Explanation | None:
        """A person's outcome on one of this household's alerts teaches its model; returns what was
        learned, in words for the alert's audit trail (None: nothing).

        - "went out" on a learned quiet alert (morning_activity_missing, unusual_quiet): that spell — from
          the alert's onset to its end (or to the outcome, if it had not ended) — is usual at those clock
          times on that weekday, for the learned alert and the check-in alike (QuietSpell.learn_outing),
          bounded: at most `outcome_quiet_widen_h` beyond the limit learned there, never past the seed
          rule's window;
        - "meter fault" on meter_silent: the silent gap is the meter's own (SilentMeterRule.taught_fault),
          at most `outcome_silent_max_h`.

        Nothing else teaches anything: not the seed rule's alerts (fixed, whatever anyone said), not an
        elder found unwell.  An event, like a reading: pure, its times inside it.
        """
        if heard.household_id != self.profile.household_id:
            return None
        rules, tz = self.profile.rules, self.profile.timezone
        since_s = epoch(heard.onset)
        until_s = epoch(heard.ended) if heard.ended is not None else epoch(heard.at)
        if heard.lesson is Lesson.WENT_OUT and heard.alert_type in QUIET_ALERTS:
            quiet = self._learners.get("quiet")
            if quiet is None or not quiet.warm or not until_s > since_s:
                return None
            date, quarter = local_quarter(until_s, tz)
            most_h = min(quiet.limit_on(date, quarter) + rules.outcome_quiet_widen_h, rules.inactivity_window_h)
            taught_h = quiet.learn_outing(since_s, until_s, tz, most_h)
            if not taught_h:
                return None
            return explain.learned_went_out(until_s - taught_h * 3600, until_s, taught_h, rules.outcome_quiet_widen_h, tz)
        if heard.lesson is Lesson.METER_FAULT and heard.alert_type is AlertType.METER_SILENT:
            most_s = rules.outcome_silent_max_h * 3600
            gap_s = self._silent.taught_fault(self._silence, heard.meter_ids, until_s - since_s, most_s)
            if not gap_s:
                return None
            return explain.learned_meter_fault(heard.meter_ids, gap_s, rules.outcome_silent_max_h)
        return None

    def tick(self, tick: Tick) -> tuple[Detection, ...]:
        at_s = epoch(tick.at)
        detections = self._silent.tick(self._histories, self._silence, self._raised, at_s)
        if not self._learners and self._raised.any_of(LEARNED_ALERTS):
            detections += self._learning_ended(at_s)
        if self._batched:
            # A batch is judged whole, once delivered: a day of readings must not raise an
            # inactivity alert at its quiet morning only to clear it at its busy noon.
            newest = [h.times[-1] for h in self._histories.values() if len(h)]
            if newest:
                found = self._judge_inactivity(max(newest))
                self._flag_days(found)
                detections += found
        # The learned verdicts judge the evidence (up to when every meter has reported), found once a tick;
        # until every meter has reported once there is none and they have nothing to say.
        learners = self._learners
        evidence_s = evidence_of(self._histories, self._meter_ids) if learners else None
        if evidence_s is not None:
            days, raised = self._days, self._raised
            quiet, scored_s = learners["quiet"], days.scored_s
            quiet_learners = (quiet, learners["river"]) if "river" in learners else (quiet,)
            learned = self._quiet.judge(quiet_learners, days, raised, evidence_s, at_s)
            if learned:
                learned += self._check_in.superseded(days, raised, at_s)
            detections += learned
            night = learners["night"]
            detections += self._check_in.judge(quiet, days, raised, evidence_s, scored_s, night.learned_sleep())
            local = local_quarter(evidence_s, self._profile.timezone)
            found = self._night.judge(night, days, raised, evidence_s, local)
            found += self._volume.spike(learners["volume"], days, raised, evidence_s, local[0])
            if found:
                self._flag_days(found)
                detections += found
        return tuple(detections)

    def _learning_ended(self, at_s: float) -> list[Detection]:
        """Learning was switched off (the registry) while a learned alert was open: with nothing
        left to clear it, it ends now, told as such."""
        words = explain.learning_off(at_s, self.profile.timezone)
        return [
            detection(self.profile, alert, Transition.CLEARED, self._raised.close(alert), at_s, words, {"learning": "off"})
            for alert in sorted(LEARNED_ALERTS)
            if alert in self._raised
        ]

    def _book_use(self, kind: MeterKind, history: MeterHistory, index: int) -> None:
        """Tell the day book what the new reading shows: use in the interval it ends, and
        for a late reading, the part of the next interval's use that now belongs to it."""
        days, tz = self._days, self._profile.timezone
        times, registers = history.times, history.registers
        if days.closed_through is None:  # the book's first reading (after it, every day has a beginning)
            days.heard(times[index], tz)
        if index > 0:
            used = registers[index] - registers[index - 1]
            days.use(kind, times[index], used, tz)
            if times[index] - times[index - 1] > MAX_GAP_S:
                days.mark_gap(times[index - 1], times[index], tz, used=used >= USE_FROM_M3)
            if index + 1 < len(times):
                days.adjust(kind, times[index + 1], -used, tz)
        elif len(times) > 1:
            days.use(kind, times[1], registers[1] - registers[0], tz)

    def _flag_days(self, detections: list[Detection]) -> None:
        """Days that saw an alert for duty staff are not learned (a short learned quiet alert
        excepted: see LearnedQuietRule)."""
        for d in detections:
            if d.alert_type in _CARE and d.alert_type not in QUIET_ALERTS:
                self._days.mark_flagged(epoch(d.onset), epoch(d.at), self.profile.timezone)

    def _close_days(self, newest_s: float) -> list[Detection]:
        """Close the days every meter has reported past (a window late), learn from them,
        and judge the week's use against the household's normal (the caller saw that `newest_s`, the newest
        reading, is a window past the end of the oldest open day)."""
        newest = [h.times[-1] for h in self._histories.values() if len(h)]
        if len(newest) < len(self._histories):
            return []
        evidence_s, complete = min(newest), True
        if max(newest) - evidence_s > _GIVE_UP_ON_LAGGING_S:
            evidence_s, complete = max(newest) - _GIVE_UP_ON_LAGGING_S, False
        if evidence_s - self._close_lag_s < self._days.next_close_s:
            return []
        open_since = [entry.onset_s for alert, entry in self._raised.items() if alert in _CARE]
        kinds = {m.kind for m in self.profile.meters}
        closed = self._days.close(
            evidence_s - self._close_lag_s,
            self.profile.timezone,
            kinds=kinds,
            open_since=open_since,
            complete=complete,
            away=self._away,
        )
        for day in closed:
            for learner in self._learners.values():
                learner.learn_one(day)
        return self._volume.decline(self._learners["volume"], self._raised, evidence_s, closed)

    def meter_health(self) -> tuple[MeterHealthSummary, ...]:
        """Each meter's battery, signal, last reading and flags as last heard (for the console)."""
        return tuple(MeterHealthSummary.of(m, self._vitals.get(m.meter_id)) for m in self.profile.meters)

    def raised(self) -> dict[AlertType, datetime]:
        """The alerts raised right now, with their onsets (for status pages and tests)."""
        return {alert: instant(entry.onset_s) for alert, entry in self._raised.items()}

    def _unknown(self, reading: Reading) -> str:
        meter = self.profile.meter(reading.meter_id)
        if meter is None:
            known = ", ".join(m.meter_id for m in self.profile.meters)
            return (
                f"meter {reading.meter_id} is not registered to household {self.profile.household_id} "
                f"(its meters: {known}); register it or fix the gateway's meter list"
            )
        if reading.household_id != self.profile.household_id:
            return (
                f"meter {reading.meter_id} belongs to household {self.profile.household_id}, "
                f"not {reading.household_id}; check the registry"
            )
        return (
            f"meter {reading.meter_id} is registered as {meter.kind.value}, but the reading says "
            f"{reading.kind}; check the registry"
        )

    def __getstate__(self) -> tuple[object, ...]:
        # Rules are configuration derived from the profile: not stored.
        return (
            _STATE_VERSION, self.profile, self._histories, self._raised, self._guard, self._silence,
            self._days, self._learners, self._vitals,
        )

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        version, *rest = state
        if version == 1:  # from before learning: the rules' state carries on, learning starts afresh
            rest = [*rest, DayBook(), {}]
            self._profile = rest[0]
            self._learners = {}
            self._tune_learners()
            rest[-1] = self._learners
            version = 2
        if version == 2:  # from before meter health: it starts with the next reading of each meter
            rest = [*rest, {}]
            version = _STATE_VERSION
        if version != _STATE_VERSION:
            raise ValueError(
                f"HouseholdMonitor state version {version} is not {_STATE_VERSION}; "
                "rebuild the table by replaying the readings"
            )
        (
            self._profile, self._histories, self._raised, self._guard, self._silence, self._days, self._learners,
            self._vitals,
        ) = rest
        self._derive_rules()

    def __repr__(self) -> str:
        return f"HouseholdMonitor({self.profile.household_id!r}, raised={self._raised!r})"
