"""Prometheus metrics: every one carewatch exports, defined here once (docs/operations.md lists them).

The rooms count into these where the thing happens (a committed batch, a delivery attempt, an MQTT
reconnect); what lives in the database (open alerts, the outbox backlog) is read at scrape time by
the console's ``/metrics``.  Names say what they count; labels are small closed sets (reasons,
formats, alert types, channels), never ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import Counter, Gauge, Histogram

READINGS = Counter(
    "carewatch_readings",
    "Readings judged and committed, by outcome (accepted, duplicate, rejected), reject reason and payload format",
    ["outcome", "reason", "format"],
)
MESSAGES_REFUSED = Counter(
    "carewatch_messages_refused",
    "MQTT messages refused whole (no reading of them was judged), by reason and payload format",
    ["reason", "format"],
)
INGEST_LAG = Histogram(
    "carewatch_ingest_lag_seconds",
    "Per committed batch: from its oldest message's arrival over MQTT to the commit of its outcome",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
NEWEST_READING = Gauge(
    "carewatch_newest_reading_timestamp_seconds",
    "Event time of the newest accepted reading (time() minus this is how far behind the meters ingest is)",
)
DETECTOR_BATCH = Histogram(
    "carewatch_detector_batch_seconds",
    "Time from the start to the end of judging a batch of MQTT messages (validation and the detectors, judged in slices that let the event loop run between them; before the commit)",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OPEN_ALERTS = Gauge(
    "carewatch_open_alerts", "Alerts not yet resolved, by type and severity (read from the database at scrape time)",
    ["alert_type", "severity"],
)
NOTIFICATIONS = Counter(
    "carewatch_notifications",
    "Delivery attempts of notifications, by channel and result (sent, retry, failed)",
    ["channel", "result"],
)
OUTBOX_BACKLOG = Gauge(
    "carewatch_outbox_backlog",
    "Notifications not yet sent, by status (held, pending, sending; read from the database at scrape time)",
    ["status"],
)
ARCHIVE_BACKLOG = Gauge(
    "carewatch_archive_backlog",
    "Accepted readings waiting in the archive outbox for InfluxDB (read from the database at scrape time; 0 with the archive off)",
)
MQTT_RECONNECTS = Counter("carewatch_mqtt_reconnects", "Connections to the MQTT broker after the first one")

NO_REASON = ""
"""The reason label of accepted and duplicate readings."""


def count_readings(outcomes: Mapping[tuple[str, str, str], int]) -> None:
    """Add a committed batch's readings, keyed by (outcome, reason, format)."""
    for (outcome, reason, payload_format), count in outcomes.items():
        READINGS.labels(outcome, reason, payload_format).inc(count)


def count_refused_messages(refusals: Mapping[tuple[str, str], int]) -> None:
    """Add a committed batch's messages refused whole, keyed by (reason, format)."""
    for (reason, payload_format), count in refusals.items():
        MESSAGES_REFUSED.labels(reason, payload_format).inc(count)


def set_open_alerts(counts: Iterable[tuple[str, str, int]]) -> None:
    """Replace the open-alert gauge with the database's (alert_type, severity, count): closed kinds drop to absent."""
    OPEN_ALERTS.clear()
    for alert_type, severity, count in counts:
        OPEN_ALERTS.labels(alert_type, severity).set(count)


def set_outbox_backlog(counts: Mapping[str, int]) -> None:
    OUTBOX_BACKLOG.clear()
    for status, count in counts.items():
        OUTBOX_BACKLOG.labels(status).set(count)
