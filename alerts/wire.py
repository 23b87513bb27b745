"""Detections as they travel on Kafka to the alert service: versioned JSON, keyed by household.

The detections topic also carries, from the Faust workers, what an outcome taught a household's
monitor (`Learned`): the alert service writes it on the alert's audit trail, after the detections
the same monitor sent before it (one household, one partition, in order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from carewatch.domain import AlertType, Detection, Explanation, Severity, Transition

WIRE_VERSION = 1


class BadDetection(ValueError):
    """A record on the detections topic that is neither a detection v1 nor a `Learned` v1."""


@dataclass(frozen=True, slots=True)
class Learned:
    """What a person's outcome on an alert taught the household's monitor (the words the embedded runner
    writes on the alert's audit trail), and the event time it was learned at."""

    household_id: str
    alert_id: str
    words: Explanation
    at: datetime

    def encode(self) -> bytes:
        """>>> from datetime import datetime, UTC
        >>> told = Learned("hh-1", "a-1", Explanation("已学习", "Learned"), datetime(2026, 1, 6, 3, 0, tzinfo=UTC))
        >>> decode_detections_record(told.encode()) == told
        True
        """
        return orjson.dumps(
            {
                "v": WIRE_VERSION,
                "learned": self.alert_id,
                "household_id": self.household_id,
                "explanation": {"zh": self.words.zh, "en": self.words.en},
                "at": self.at.isoformat(),
            }
        )


def decode_detections_record(value: bytes | None) -> Detection | Learned:
    """A record of the detections topic: a detection, or what an outcome taught (``learned``)."""
    try:
        document = orjson.loads(value or b"")
        if isinstance(document, dict) and "learned" in document and document.get("v") == WIRE_VERSION:
            words = document["explanation"]
            return Learned(document["household_id"], document["learned"], Explanation(words["zh"], words["en"]),
                           datetime.fromisoformat(document["at"]))
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
        raise BadDetection(f"not a learned record: {exc!r}: {str(value)[:120]}") from None
    return decode_detection(value)


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
