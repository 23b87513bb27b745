"""wmbusmeters' JSON for one telegram, as its ``shell=`` command publishes ``$METER_JSON``.

The meter is its wM-Bus ``id``; the register is ``total_m3`` unless configured otherwise (some drivers
name it e.g. ``total_volume_m3``); ``timestamp`` is when wmbusmeters received the telegram, in UTC.
"""

from __future__ import annotations

from datetime import datetime

from carewatch.integrations import Integration
from ingest.adapters.base import Adapted, Refused, field, iso_time, load_object, meter_id, reading, refused, register_m3, text


def adapt(integration: Integration, topic: str, payload: bytes, now: datetime) -> Adapted:
    try:
        telegram = load_object(payload)
        device = text(telegram, "id")
        at = iso_time(field(telegram, "timestamp"), "timestamp")
        register = register_m3(integration, telegram)
    except Refused as problem:
        return refused(integration, problem)
    return Adapted((reading(meter_id(integration, device), at, register),))
