"""ChirpStack v4 ``up`` events, JSON encoding, as its MQTT integration publishes them.

Topic ``application/{application id}/device/{dev eui}/event/up``; the device profile's codec puts the
meter's values in ``object``; ``time`` is when the uplink was received; the device is its DevEUI.
"""

from __future__ import annotations

from datetime import datetime

from carewatch.integrations import Integration
from ingest.adapters.base import Adapted, Refused, battery_pct, best_rssi, field, iso_time, load_object, meter_id, reading, refused, register_m3, text


def adapt(integration: Integration, topic: str, payload: bytes, now: datetime) -> Adapted:
    try:
        event = load_object(payload)
        device = text(event, "deviceInfo.devEui")
        decoded = field(event, "object")  # missing: the device profile has no codec
        at = iso_time(field(event, "time"), "time")
        register = register_m3(integration, decoded)
    except Refused as problem:
        return refused(integration, problem)
    return Adapted((reading(meter_id(integration, device), at, register, best_rssi(event.get("rxInfo")), battery=battery_pct(integration, decoded)),))
