"""wmbusmeters' JSON for one telegram, as its ``shell=`` command publishes ``$METER_JSON``.

The meter is its wM-Bus ``id``; the register is ``total_m3`` unless configured otherwise (some drivers
name it e.g. ``total_volume_m3``); ``timestamp`` is when wmbusmeters received the telegram, in UTC.
The meter's status words (``current_status``, else ``status``: "OK", "TAMPER", "LEAK BURST", …) become
the contract's ``status``, where the meter health detector reads its flags (detectors/meter_health.py);
``rssi_dbm``, when the radio dongle reports it, becomes ``signal_dbm``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from carewatch.integrations import Integration
from detectors.meter_health import flags_in
from ingest.adapters.base import Adapted, Refused, field, iso_time, load_object, meter_id, reading, refused, register_m3, text

MAX_STATUS = 32
"""The contract's limit on a status word (ingest/payload.py)."""


def adapt(integration: Integration, topic: str, payload: bytes, now: datetime) -> Adapted:
    try:
        telegram = load_object(payload)
        device = text(telegram, "id")
        at = iso_time(field(telegram, "timestamp"), "timestamp")
        register = register_m3(integration, telegram)
    except Refused as problem:
        return refused(integration, problem)
    return Adapted((reading(meter_id(integration, device), at, register, _signal(telegram), _status(telegram)),))


def _status(telegram: dict[str, Any]) -> str | None:
    """The meter's current status words; when they are longer than the contract takes, the words
    carewatch acts on (a tamper, leak or burst among many) rather than a cut that may lose one."""
    words = telegram.get("current_status") or telegram.get("status")
    if not isinstance(words, str) or not words.strip():
        return None
    words = " ".join(words.split())
    if len(words) <= MAX_STATUS and words.isprintable():
        return words
    return " ".join(sorted(flag.value for flag in flags_in(words))) or None


def _signal(telegram: dict[str, Any]) -> float | None:
    rssi = telegram.get("rssi_dbm")
    if isinstance(rssi, bool) or not isinstance(rssi, int | float) or not math.isfinite(rssi) or not -150 <= rssi <= 0:
        return None  # absent or not a signal: the reading is still good
    return float(rssi)
