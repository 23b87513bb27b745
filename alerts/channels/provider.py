"""SMS and voice calls through an HTTP provider (a generic JSON adapter; vendors differ only here).

POST {endpoint} with ``Authorization: Bearer <token>`` and ``Idempotency-Key``:
``{"to": "+86138...", "kind": "sms"|"voice", "text": "...", "language": "zh-CN", "reference": "<key>"}``.
A 2xx means the provider took the message; 429/5xx are retried; other 4xx are final.
"""

from __future__ import annotations

import httpx

from alerts.channels.base import IDEMPOTENCY_HEADER, Outgoing, post


class ProviderChannel:
    def __init__(self, kind: str, endpoint: str, token: str | None, client: httpx.AsyncClient) -> None:
        if kind not in ("sms", "voice"):
            raise ValueError(f"the HTTP provider carries sms or voice, not {kind!r}")
        self.kind = kind
        self.endpoint = endpoint
        self.token = token
        self.client = client

    async def send(self, message: Outgoing) -> None:
        headers = {IDEMPOTENCY_HEADER: message.idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {
            "to": message.address,
            "kind": self.kind,
            "text": message.body,
            "language": message.language,
            "reference": message.idempotency_key,
        }
        await post(self.client, self.endpoint, f"{self.kind} provider", json=body, headers=headers)
