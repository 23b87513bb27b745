"""The soft tier: when the routine is first broken, ask the elder before anyone else.

A quiet spell longer than usual at this time of day (`QuietSpell.usual_h`: the longest quiet
learned at that very quarter-hour, carried forward by a short grace — the household's latest
usual first use in the morning plus half an hour; in the day, a gap longer than the household's
days at that hour bear out, `QuietSpell._usual_limits`)
but not yet unusual (the learned alert's limit, which adds pooling across hours, a margin and
floors for households that go out) raises a `check_in`: an alert for the elder alone (audience
"elder"; the policy sends it to the elder's phone, nobody else).  It ends

- with the first use seen ("used"): nothing to tell anyone;
- with the elder's answer "I'm fine" (`answered`, an event carrying its time): the spell counts as
  ended for the learned detectors (never for the 24 h rule), and the spell is learned as usual at
  that clock time on that weekday;
- unanswered after `check_in_answer_h` with the household still quiet: the learned inactivity
  alert (morning_activity_missing / unusual_quiet) is raised at once for family and staff, without
  waiting for the learned limit ("unanswered");
- when the learned alert or the 24 h rule's critical alert comes first ("superseded").

A check-in never holds anything back: the learned alert and the 24 h rule judge as if it did not exist.
"""

from __future__ import annotations

import functools
import math

from carewatch.domain import AlertType, CheckInAnswer, Detection, MeterKind, Transition, alert_id
from detectors import explain
from detectors.base import QUIET_ALERTS, RaisedConditions, detection, epoch, instant, speaking_for_quiet
from detectors.config import HouseholdProfile
from detectors.quiet import QuietSpell, Spell, _spans_the_night
from detectors.routine import QUARTERS_PER_DAY, DayBook

_CHECK_IN = AlertType.CHECK_IN
"""Bound once: an enum member looked up on its class costs ~0.15 µs in Python 3.11, and every tick asks."""
STALE_S = 3600.0
"""A spell found longer than usual more than this before the evidence (a daily batch) is not asked about."""


class CheckInRule:
    """check_in for one household (severity info, audience elder).

    >>> import random
    >>> from datetime import UTC, datetime
    >>> from detectors.config import MeterProfile
    >>> from detectors.routine import Day
    >>> rng = random.Random(42)
    >>> profile = HouseholdProfile("hh-1", (MeterProfile("water-1", MeterKind.WATER),))
    >>> learner = QuietSpell()
    >>> for date in range(739000, 739021):  # up between 06:45 and 07:30, then some use every hour
    ...     wake = 27 + rng.randint(0, 3)
    ...     learner.learn_one(Day(date, sum(1 << q for q in range(wake, 88, 4)), None, 0.12, True))
    >>> rule, days, raised = CheckInRule(profile), DayBook(), RaisedConditions()
    >>> evening = datetime(2024, 6, 1, 21, 45, tzinfo=UTC).timestamp()
    >>> days.last_use_s = evening
    >>> for quarter in range(0, 13 * 4):  # a reading every quarter-hour, nothing used all night and morning
    ...     found = rule.judge(learner, days, raised, evening + quarter * 900, days.scored_s)
    ...     days.scored_s = evening + quarter * 900
    ...     for d in found:
    ...         print(instant(epoch(d.at)).strftime("%H:%M"), d.alert_id, d.transition.value)
    08:15 hh-1.check_in.20240601T214500Z raised
    09:15 hh-1.check_in.20240601T214500Z cleared
    09:15 hh-1.morning_activity_missing.20240601T214500Z raised
    >>> learner.usual_h(32), learner.limit_h(32)  # at 08:00: asked after 1.25 h quiet, alerted only after 12 h
    (1.25, 12.0)
    """

    __slots__ = (
        "profile", "_meters", "_kinds", "_away", "_answer_s", "_fixed", "_bounds", "_on", "_spoken",
        "_asked_when",
    )

    def __init__(self, profile: HouseholdProfile) -> None:
        rules = profile.rules
        self.profile = profile
        self._meters = tuple(m.meter_id for m in profile.meters)
        self._kinds = tuple(kind for kind in MeterKind if profile.meters_of(kind))
        self._away = tuple(sorted((w.start.timestamp(), w.end.timestamp()) for w in profile.away))
        self._spoken = speaking_for_quiet(profile)
        """Alerts that already speak for a quiet spell: no question while one is open."""
        self._asked_when: tuple[tuple[int, int] | None, int] | None = None
        """The last sleeping hours asked about and the quarters askable with them (`_askable`, every tick)."""
        self._answer_s = rules.check_in_answer_h * 3600
        self._fixed = _quarters_between(rules.check_in_from_h, rules.check_in_until_h)
        self._bounds = _quarters_between(rules.check_in_earliest_h, rules.check_in_latest_h) if rules.check_in_awake else None
        self._on = rules.learned and rules.check_in

    def judge(
        self,
        learner: QuietSpell,
        days: DayBook,
        raised: RaisedConditions,
        evidence_s: float,
        scored_s: float,
        sleep: tuple[int, int] | None = None,
    ) -> list[Detection]:
        """At a tick, on the evidence up to `evidence_s` (`evidence_of`): escalate an unanswered check-in,
        or ask one about the evidence after `scored_s` (where the learned alert's judging had got to before
        this tick: the same evidence, judged once).
        `sleep`: the household's learned sleeping hours (first quarter, length; `NightUse.sleep`), if any."""
        if _CHECK_IN in raised:
            return self._unanswered(days, raised, evidence_s)
        if not self._on or not learner.warm or days.last_use_s == -math.inf:
            return []
        if raised.any_of(self._spoken) or days.fine_s > days.last_use_s:
            return []  # one question per quiet spell: after "I'm fine" the learned alert watches on, from the answer
        if evidence_s <= scored_s:
            return []
        since_s = max(days.last_use_s, days.fine_s)
        for start_s, end_s in self._away:
            if start_s <= evidence_s < end_s:
                return []
            if since_s < end_s <= evidence_s:
                since_s = end_s  # a spell counts from the planned return
        if evidence_s < since_s + 3600 * learner.check_in_floor_h:
            return []  # the usual tick in the day: a spell too short to ask about (QuietSpell.check_in's floor)
        spell = Spell(since_s, max(scored_s, since_s), evidence_s, self.profile.timezone)
        found = learner.check_in(spell, self._askable(sleep))
        if found is None or found.at_s < evidence_s - STALE_S or not raised.open(AlertType.CHECK_IN, since_s, self._meters):
            return []
        days.asked_s = evidence_s
        words = explain.check_in(self._kinds, since_s, found.at_s, found.limit_h, self.profile.timezone)
        facts: dict[str, float | str] = {
            "since": instant(since_s).isoformat(),
            "hours": round((found.at_s - since_s) / 3600, 2),
            "usual_h": found.limit_h,
            "days_learned": found.days,
            "answer_within_h": self._answer_s / 3600,
            "judged_at": instant(found.at_s).isoformat(),
        }
        entry = raised.get(AlertType.CHECK_IN)
        return [detection(self.profile, AlertType.CHECK_IN, Transition.RAISED, entry, evidence_s, words, facts)]

    def _askable(self, sleep: tuple[int, int] | None) -> int:
        """The local quarters at which the elder may be asked: outside her learned sleeping hours,
        within the bounds; the fixed hours until those are learned."""
        if sleep is None or self._bounds is None:
            return self._fixed
        asked = self._asked_when
        if asked is not None and asked[0] == sleep:
            return asked[1]  # the usual tick: the sleeping hours learned change once a day at most
        first, length = sleep
        sleeping = ((1 << length) - 1) << first
        sleeping |= sleeping >> QUARTERS_PER_DAY  # past midnight: the next morning's quarters
        askable = self._bounds & ~sleeping
        self._asked_when = (sleep, askable)
        return askable

    def _unanswered(self, days: DayBook, raised: RaisedConditions, evidence_s: float) -> list[Detection]:
        """No answer in time and nothing used: the learned alert now, for family and staff."""
        entry = raised.get(AlertType.CHECK_IN)
        assert entry is not None
        if evidence_s < days.asked_s + self._answer_s or days.last_use_s > entry.onset_s:
            return []
        tz = self.profile.timezone
        out = [self._end("unanswered", raised, days, evidence_s, {"outcome": "unanswered"})]
        alert = AlertType.MORNING_ACTIVITY_MISSING if _spans_the_night(entry.onset_s, evidence_s, tz) else AlertType.UNUSUAL_QUIET
        if raised.any_of(self._spoken) or not raised.open(alert, entry.onset_s, self._meters):
            return out
        days.quiet_raised_s = evidence_s
        asked_s = evidence_s - self._answer_s if days.asked_s == -math.inf else days.asked_s
        words = explain.quiet_unanswered(self._kinds, entry.onset_s, asked_s, evidence_s, tz)
        facts: dict[str, float | str] = {
            "since": instant(entry.onset_s).isoformat(),
            "hours": round((evidence_s - entry.onset_s) / 3600, 2),
            "check_in": "unanswered",
            "asked_at": instant(asked_s).isoformat(),
            "judged_at": instant(evidence_s).isoformat(),
        }
        out.append(detection(self.profile, alert, Transition.RAISED, raised.get(alert), evidence_s, words, facts))
        return out

    def heard(self, days: DayBook, raised: RaisedConditions, at_s: float) -> list[Detection]:
        """After a reading: use after the spell began ends the check-in."""
        entry = raised.get(AlertType.CHECK_IN)
        if entry is None or days.last_use_s <= entry.onset_s:
            return []
        return [self._end("used", raised, days, at_s, {"used_at": instant(days.last_use_s).isoformat()})]

    def superseded(self, days: DayBook, raised: RaisedConditions, at_s: float) -> list[Detection]:
        """The learned alert or the 24 h rule spoke first: the question is moot."""
        if AlertType.CHECK_IN not in raised:
            return []
        return [self._end("superseded", raised, days, at_s, {"outcome": "superseded"})]

    def answered(
        self, learner: QuietSpell | None, days: DayBook, raised: RaisedConditions, answer: CheckInAnswer
    ) -> list[Detection]:
        """The elder answered "I'm fine": the check-in ends quietly, and its spell is learned as usual then.
        An answer that comes after the check-in was escalated ends the learned alert it raised."""
        at_s, tz = epoch(answer.at), self.profile.timezone
        if at_s <= days.last_use_s:
            return []  # the household was seen using something since: nothing to learn
        household = self.profile.household_id
        entry = raised.get(AlertType.CHECK_IN)
        if entry is not None and alert_id(household, AlertType.CHECK_IN, instant(entry.onset_s)) == answer.alert_id:
            days.fine_s = max(days.fine_s, at_s)
            if learner is not None:
                learner.learn_answer(entry.onset_s, at_s, tz)
            return [self._end("fine", raised, days, at_s, {"answered_at": instant(at_s).isoformat()})]
        for alert in QUIET_ALERTS:
            late = raised.get(alert)
            if late is not None and alert_id(household, AlertType.CHECK_IN, instant(late.onset_s)) == answer.alert_id:
                days.fine_s = max(days.fine_s, at_s)
                if learner is not None:
                    learner.learn_answer(late.onset_s, at_s, tz)
                ended = raised.close(alert)
                days.quiet_raised_s = -math.inf
                facts = {"answered_at": instant(at_s).isoformat()}
                return [detection(self.profile, alert, Transition.CLEARED, ended, at_s, explain.quiet_answered(at_s, tz), facts)]
        return []

    def _end(self, how: str, raised: RaisedConditions, days: DayBook, at_s: float, facts: dict[str, float | str]) -> Detection:
        ended = raised.close(AlertType.CHECK_IN)
        days.asked_s = -math.inf
        words = explain.check_in_over(how, at_s, self.profile.timezone)
        return detection(self.profile, AlertType.CHECK_IN, Transition.CLEARED, ended, at_s, words, {**facts, "ended": how})


@functools.cache  # the same few hours for every household: each monitor made, or unpickled, asked it afresh
def _quarters_between(from_h: float, until_h: float) -> int:
    """A mask of the local quarter-hours that begin between the clock hours `from_h` and `until_h`."""
    return sum(1 << q for q in range(QUARTERS_PER_DAY) if from_h <= q / 4 < until_h)
