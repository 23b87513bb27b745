"""What people's outcomes on alerts teach the detectors, read back for them.

An outcome stated on an alert (alerts.outcomes) is kept to tune the detectors; two of them teach the
household's model at once, as events (``carewatch.domain.OutcomeHeard``) the runners hand to the
monitors, the same path as the elders' answers to check-ins (alerts.answers):

- a false alarm, the elder away ("went out", "visiting family"), on a learned quiet alert
  (morning_activity_missing, unusual_quiet): that quiet, at that clock time on that weekday, is usual;
- a false alarm, a meter fault, on a meter_silent ticket: that gap is the meter's own.

Nothing else teaches anything: not the seed rule's alerts (fixed), not an elder found unwell, in
hospital or unreachable, not a false alarm for another reason.  What was learned is written on the
alert's audit trail (`AuditAction.LEARNED`, by the detector, in both languages: `lesson_note`); an
alert with such an entry is never taught twice, whatever restarts or replays.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lifecycle import AuditAction
from alerts.models import Alert, AlertEvent, without_entry
from alerts.outcomes import FalseAlarmReason, OutcomeKind
from carewatch.catalogue import Language
from carewatch.domain import AlertType, Explanation, Lesson, OutcomeHeard

LESSONS: dict[tuple[FalseAlarmReason, AlertType], Lesson] = {
    (FalseAlarmReason.AWAY, AlertType.MORNING_ACTIVITY_MISSING): Lesson.WENT_OUT,
    (FalseAlarmReason.AWAY, AlertType.UNUSUAL_QUIET): Lesson.WENT_OUT,
    (FalseAlarmReason.METER_FAULT, AlertType.METER_SILENT): Lesson.METER_FAULT,
}
"""The only outcomes that teach, and on which alerts."""


async def taught_outcomes(session: AsyncSession, since: datetime) -> list[OutcomeHeard]:
    """Outcomes stated at or after ``since`` (wall clock) that teach, on alerts not yet taught from,
    oldest first (one per alert: the first that teaches)."""
    rows = await session.execute(
        select(
            Alert.id, Alert.household_id, Alert.alert_type, Alert.onset, Alert.cleared_at, Alert.meter_ids,
            AlertEvent.at, AlertEvent.outcome_reason,
        )
        .join(AlertEvent, AlertEvent.alert_id == Alert.id)
        .where(
            AlertEvent.outcome == OutcomeKind.FALSE_ALARM,
            AlertEvent.outcome_reason.in_(sorted({reason for reason, _ in LESSONS})),
            Alert.alert_type.in_(sorted({alert for _, alert in LESSONS})),
            AlertEvent.at >= since,
            without_entry(AuditAction.LEARNED),
        )
        .order_by(AlertEvent.at, AlertEvent.id)
    )
    out: dict[str, OutcomeHeard] = {}
    for alert_id, household_id, alert_type, onset, cleared_at, meter_ids, at, reason in rows:
        lesson = LESSONS.get((reason, alert_type))
        if lesson is None or alert_id in out:
            continue
        out[alert_id] = OutcomeHeard(household_id, alert_id, alert_type, lesson, onset, cleared_at, at, tuple(meter_ids or ()))
    return list(out.values())


def lesson_note(words: Explanation) -> str:
    """The audit note of what was learned: both languages, so the trail reads in the reader's."""
    return json.dumps({"zh-CN": words.zh, "en": words.en}, ensure_ascii=False)


def lesson_words(note: str, lang: Language) -> str:
    """The audit note of a `learned` entry in ``lang`` (a note not written by `lesson_note`: as it is).

    >>> lesson_words(lesson_note(Explanation(zh="已学习", en="Learned")), "en")
    'Learned'
    """
    try:
        words = json.loads(note)
    except ValueError:
        return note
    return str(words.get(lang) or words.get("en") or note) if isinstance(words, dict) else note
