"""Detections as they travel on Kafka to the alert service: versioned JSON, keyed by household."""

from __future__ import annotations

from datetime import datetime

import orjson

from carewatch.domain import AlertType, Detection, Explanation, Severity, Transition

WIRE_VERSION = 1


class BadDetection(ValueError):
    """A record on the detections topic that is not a detection v1."""


def encode_detection(detection: Detection) -> bytes:
    """>>> from datetime import datetime, UTC
    >>> at = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)
    >>> d = Detection("hh-1", AlertType.METER_SILENT, Transition.RAISED, at, at, Severity.WARNING,
    ...               Explanation("静默", "silent"), ("gas-1",), {"silent_h": 1.0})
    >>> decode_detection(encode_detection(d)) == d
    True
    """
    return orjson.dumps(
        {
            "v": WIRE_VERSION,
            "household_id": detection.household_id,
            "alert_type": detection.alert_type.value,
            "transition": detection.transition.value,
            "onset": detection.onset.isoformat(),
            "at": detection.at.isoformat(),
            "severity": detection.severity.value,
            "explanation": {"zh": detection.explanation.zh, "en": detection.explanation.en},
            "meter_ids": list(detection.meter_ids),
            "facts": dict(detection.facts),
        }
    )


def decode_detection(value: bytes | None) -> Detection:
    try:
        document = orjson.loads(value or b"")
        if document.get("v") != WIRE_VERSION:
            raise BadDetection(f"detection record must have v={WIRE_VERSION}")
        return Detection(
            household_id=document["household_id"],
            alert_type=AlertType(document["alert_type"]),
            transition=Transition(document["transition"]),
            onset=datetime.fromisoformat(document["onset"]),
            at=datetime.fromisoformat(document["at"]),
            severity=Severity(document["severity"]),
            explanation=Explanation(document["explanation"]["zh"], document["explanation"]["en"]),
            meter_ids=tuple(document["meter_ids"]),
            facts=dict(document["facts"]),
        )
    except BadDetection:
        raise
    except (orjson.JSONDecodeError, AttributeError, KeyError, ValueError, TypeError) as exc:
        raise BadDetection(f"not a detection record: {exc!r}: {str(value)[:120]}") from None
