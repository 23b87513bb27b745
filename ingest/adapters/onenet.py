"""China Mobile OneNET data push: what its platform POSTs to carewatch's push endpoint.

The body is ``{"msg": <one message or a list>, "msg_signature": ..., "nonce": ...}``; a data point
message (``type`` 1) names its device (``dev_id``), data stream (``ds_id``), platform time in ms
(``at``) and ``value``.  The integration's register field is the data stream that carries the
register; other streams and device online/offline messages (``type`` 2) hold no reading.

OneNET signs with the push token configured on both sides: ``base64(md5(token + nonce + msg))``; the
same computation answers its URL check (``GET ?msg=&nonce=&signature=``).  carewatch computes ``msg``
as compact JSON in the order received.  Encrypted push (AES) is not supported.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

import orjson

from carewatch.domain import RejectReason
from carewatch.integrations import Integration
from ingest.adapters.base import Adapted, Refused, epoch_ms_time, field, load_object, meter_id, reading, refused, register_m3, text
from ingest.payload import Rejection

DATA_POINT = 1


def signature(token: str, nonce: str, msg: str) -> str:
    return base64.b64encode(hashlib.md5((token + nonce + msg).encode()).digest()).decode()


def signed_text(msg: Any) -> str:
    """``msg`` as the text OneNET signs: compact JSON (a string message is signed as it is)."""
    return msg if isinstance(msg, str) else orjson.dumps(msg).decode()


def signature_matches(token: str, nonce: str, msg: str, claimed: str) -> bool:
    return hmac.compare_digest(signature(token, nonce, msg).encode(), claimed.encode())


def body_is_signed(token: str, body: Any) -> bool:
    """Whether a push body carries msg, nonce and msg_signature, and the signature is the token's."""
    if not isinstance(body, dict) or "msg" not in body:
        return False
    nonce, claimed = body.get("nonce"), body.get("msg_signature")
    if not isinstance(nonce, str) or not isinstance(claimed, str):
        return False
    return signature_matches(token, nonce, signed_text(body["msg"]), claimed)


def adapt(integration: Integration, topic: str, payload: bytes, now: datetime) -> Adapted:
    try:
        messages = field(load_object(payload), "msg")
    except Refused as problem:
        return refused(integration, problem)
    readings: list[dict[str, Any]] = []
    refusals: list[Rejection] = []
    for index, message in enumerate(messages if isinstance(messages, list) else [messages]):
        if not isinstance(message, dict) or message.get("type") != DATA_POINT or message.get("ds_id") != integration.register:
            continue  # online/offline, command results, other data streams: no register reading
        try:
            device = text(message, "dev_id")
            at = epoch_ms_time(field(message, "at"), "msg.at")
            register = register_m3(integration, {integration.register: field(message, "value")})
        except Refused as problem:
            detail = f"{integration.format} integration {integration.name!r}: msg[{index}]: {problem.detail}"
            refusals.append(Rejection(problem.reason, detail, index=index))
            continue
        readings.append(reading(meter_id(integration, device), at, register))
    if not readings and not refusals and not isinstance(messages, dict | list):
        refusals.append(Rejection(RejectReason.SCHEMA_VIOLATION, "field 'msg' must be an object or a list of them"))
    return Adapted(tuple(readings), tuple(refusals))
