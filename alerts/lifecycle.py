"""The life of an alert: its statuses, the audit actions, and which moves are legal."""

from __future__ import annotations

from enum import StrEnum


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # a duty officer has taken it on
    RESOLVED = "resolved"  # closed by a person
    AUTO_RESOLVED = "auto_resolved"  # closed because the detector saw the condition end

    @property
    def is_active(self) -> bool:
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset({AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED})
"""Statuses that still need someone; at most one such alert per household and type."""


class AuditAction(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    AUTO_RESOLVED = "auto_resolved"
    # Entries that record what the notification ladder did or heard; the status does not change.
    ESCALATED = "escalated"  # a step of the ladder ran: who was contacted, on which channels
    FAMILY_UNREACHABLE = "family_unreachable"  # a family member could not reach the elder
    HELP_REQUESTED = "help_requested"  # the elder or a family member answered "I need help"
    ESCALATION_STOPPED = "escalation_stopped"
    ASSIGNED = "assigned"  # handed to a colleague (or taken back); the status does not change
    SILENCED = "silenced"  # raised under a site silence (alerts/silences.py): stored, but the ladder does not run
    LEARNED = "learned"  # a person's outcome taught the household's model (alerts/lessons.py): what, in the note
    HEARD = "heard"  # a Faust worker's monitor heard the elder's answer to this check-in (alerts/heard.py)


MAX_ACTOR_LENGTH = 128

DETECTOR_ACTOR = "detector"
"""The actor named in the audit trail when a detector, not a person, moved the alert."""

LADDER_ACTOR = "escalation"
"""The actor named in the audit trail for what the notification ladder did."""

LEGAL_SOURCES: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.ACKNOWLEDGED: frozenset({AlertStatus.OPEN}),
    # An officer who handles an alert straight away may resolve it without acknowledging first.
    AlertStatus.RESOLVED: ACTIVE_STATUSES,
    AlertStatus.AUTO_RESOLVED: ACTIVE_STATUSES,
}
"""For each target status, the statuses an alert may move to it from."""
