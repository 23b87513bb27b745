"""An integrator's webhook, signed so they can tell it came from us and is fresh.

Headers: ``X-Carewatch-Timestamp`` (Unix seconds), ``X-Carewatch-Signature:
sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`` and ``Idempotency-Key``.
The receiver recomputes the HMAC over the raw body and refuses stale timestamps.
Not through apprise: its json:// plugin cannot sign the body.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

import httpx
import orjson

from alerts.channels.base import IDEMPOTENCY_HEADER, Outgoing, post

TIMESTAMP_HEADER = "X-Carewatch-Timestamp"
SIGNATURE_HEADER = "X-Carewatch-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, given: str, *, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does: constant-time comparison, and refuse replays older than the tolerance."""
    try:
        fresh = abs(now - float(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), given)


class SignedWebhookChannel:
    kind = "webhook"

    def __init__(self, secret: str, client: httpx.AsyncClient, clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.client = client
        self.clock = clock

    async def send(self, message: Outgoing) -> None:
        body = orjson.dumps(
            {"idempotency_key": message.idempotency_key, "subject": message.subject, "text": message.body, **message.payload}
        )
        stamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature(self.secret, stamp, body),
            IDEMPOTENCY_HEADER: message.idempotency_key,
        }
        await post(self.client, message.address, "webhook", content=body, headers=headers)
