"""China Telecom CTWing (AEP) subscription push: what its platform POSTs to carewatch's push endpoint.

A device data report is ``{"messageType": "dataReport", "deviceId": ..., "timestamp": <ms>,
"payload": {...}, ...}``; the integration's register field is a dotted path inside ``payload``
(e.g. ``serviceData.total_volume``).  Other message types (online/offline, command responses) hold
no reading.  CTWing does not sign its pushes: the push URL configured in the subscription carries the
integration's token (``?token=``), checked by the endpoint.
"""

from __future__ import annotations

from datetime import datetime

from carewatch.integrations import Integration
from ingest.adapters.base import Adapted, Refused, battery_pct, epoch_ms_time, field, load_object, meter_id, reading, refused, register_m3, text

DATA_REPORT = "dataReport"


def adapt(integration: Integration, topic: str, payload: bytes, now: datetime) -> Adapted:
    try:
        report = load_object(payload)
        if text(report, "messageType") != DATA_REPORT:
            return Adapted()
        device = text(report, "deviceId")
        at = epoch_ms_time(field(report, "timestamp"), "timestamp")
        service_data = field(report, "payload")
        register = register_m3(integration, service_data)
    except Refused as problem:
        return refused(integration, problem)
    return Adapted((reading(meter_id(integration, device), at, register, battery=battery_pct(integration, service_data)),))
