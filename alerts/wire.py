"""Detections as they travel on Kafka to the alert service: versioned JSON, keyed by household.

The detections topic also carries, from the Faust workers, the receipts of what the alert service
published on the answers topic (`alerts.heard`): what an outcome taught a household's monitor
(`Learned`), and that it heard an elder's answer to a check-in (`Heard`).  The alert service writes
each on the alert's audit trail, after the detections the same monitor sent before it (one
household, one partition, in order), and stops offering what it received.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from carewatch.domain import AlertType, Detection, Explanation, Severity, Transition

WIRE_VERSION = 1


class BadDetection(ValueError):
    """A record on the detections topic that is neither a detection v1 nor a receipt v1 (`Learned`, `Heard`)."""


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


@dataclass(frozen=True, slots=True)
class Heard:
    """That the household's monitor heard the elder's answer to a check-in (``alert_id``: the check-in),
    and the event time it was told at: the receipt of an answer, as `Learned` is an outcome's."""

    household_id: str
    alert_id: str
    at: datetime

    def encode(self) -> bytes:
        """>>> from datetime import datetime, UTC
        >>> told = Heard("hh-1", "c-1", datetime(2026, 1, 6, 3, 0, tzinfo=UTC))
        >>> decode_detections_record(told.encode()) == told
        True
        """
        return orjson.dumps({"v": WIRE_VERSION, "heard": self.alert_id, "household_id": self.household_id, "at": self.at.isoformat()})


Receipt = Learned | Heard
RECEIPT_KEYS = ("learned", "heard")
"""The key that makes a record of the detections topic a receipt, naming the alert it is about."""


def decode_detections_record(value: bytes | None) -> Detection | Receipt:
    """A record of the detections topic: a detection, or a receipt (``learned``, ``heard``).

    >>> decode_detections_record(b'{"v": 1, "heard": "c-1", "household_id": "hh-1"}')
    Traceback (most recent call last):
    ...
    alerts.wire.BadDetection: not a heard record v1: KeyError('at'): b'{"v": 1, "heard": "c-1", "household_id": "hh-1"}'
    """
    try:
        document = orjson.loads(value or b"")
    except orjson.JSONDecodeError as exc:
        raise BadDetection(f"not a detections record: {exc!r}: {str(value)[:120]}") from None
    kind = next((key for key in RECEIPT_KEYS if isinstance(document, dict) and key in document), None)
    if kind is None:
        return decode_detection(value)
    try:
        if document.get("v") != WIRE_VERSION:
            raise ValueError(f"v={document.get('v')!r}")
        household_id, alert_id, at = document["household_id"], document[kind], datetime.fromisoformat(document["at"])
        if not (isinstance(household_id, str) and isinstance(alert_id, str)):
            raise TypeError("household_id and the alert id must be strings")
        if kind == "heard":
            return Heard(household_id, alert_id, at)
        words = document["explanation"]
        return Learned(household_id, alert_id, Explanation(str(words["zh"]), str(words["en"])), at)
    except (KeyError, ValueError, TypeError) as exc:
        raise BadDetection(f"not a {kind} record v{WIRE_VERSION}: {exc!r}: {str(value)[:120]}") from None


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
