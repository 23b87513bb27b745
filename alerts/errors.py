"""What can go wrong when a person moves an alert, worded for the person."""

from __future__ import annotations

from alerts.lifecycle import AlertStatus


class AlertError(Exception):
    """Base of the alert store's refusals."""


class AlertNotFound(AlertError):
    def __init__(self, alert_id: str) -> None:
        super().__init__(f"no alert with id {alert_id!r}; list current alerts with GET /api/alerts")
        self.alert_id = alert_id


class IllegalTransition(AlertError):
    def __init__(self, alert_id: str, current: AlertStatus, requested: AlertStatus) -> None:
        super().__init__(
            f"alert {alert_id!r} is {current.value}; it cannot become {requested.value} "
            f"(allowed: open -> acknowledged -> resolved, or open -> resolved)"
        )
        self.alert_id = alert_id
        self.current = current
        self.requested = requested


class AlertClosed(AlertError):
    """Only an alert that still needs someone (open or acknowledged) is handed to a colleague."""

    def __init__(self, alert_id: str, current: AlertStatus) -> None:
        super().__init__(f"alert {alert_id!r} is {current.value}; only open or acknowledged alerts are assigned")
        self.alert_id = alert_id
        self.current = current


class InvalidActor(AlertError, ValueError):
    """The audit trail needs the name of the person who moved the alert."""
