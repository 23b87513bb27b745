"""The Things Stack (The Things Network v3) uplink messages, as its MQTT server publishes them.

Topic ``v3/{application id}@{tenant id}/devices/{device id}/up``; the device's payload formatter puts
the meter's values in ``uplink_message.decoded_payload``; the time is when the network received the
uplink (``uplink_message.received_at``, else the message's ``received_at``).
"""

from __future__ import annotations

from datetime import datetime

from carewatch.integrations import Integration
from ingest.adapters.base import Adapted, Refused, battery_pct, best_rssi, field, iso_time, load_object, meter_id, reading, refused, register_m3, text


def adapt(integration: Integration, topic: str, payload: bytes, now: datetime) -> Adapted:
    try:
        uplink = load_object(payload)
        device = text(uplink, "end_device_ids.device_id")
        decoded = field(uplink, "uplink_message.decoded_payload")
        message = uplink["uplink_message"]
        at = iso_time(message.get("received_at", uplink.get("received_at")), "uplink_message.received_at")
        register = register_m3(integration, decoded)
    except Refused as problem:
        return refused(integration, problem)
    return Adapted((reading(meter_id(integration, device), at, register, best_rssi(message.get("rx_metadata")), battery=battery_pct(integration, decoded)),))
