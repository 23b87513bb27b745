"""WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书) group robots: the address is the robot's webhook URL.

Not through apprise: its wecombot://, dingtalk:// and feishu:// plugins post only to
the vendors' fixed hosts (no relay, no loopback test receiver) and return a bare
success flag, hiding the vendors' rate-limit codes that the dispatcher retries on.
The payloads are each vendor's documented plain-text message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from alerts.channels.base import IDEMPOTENCY_HEADER, Outgoing, PermanentError, TransientError, post

# Vendors answer HTTP 200 and put the verdict in the body; these codes mean "too many, later".
RATE_LIMITED = {"wecom": {45009}, "dingtalk": {130101, 660026}, "feishu": {9499, 11232}}


def _sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _sign_dingtalk(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class RobotChannel:
    """One vendor's group robot. A ``secret`` query parameter in the address turns on the vendor's signing."""

    def __init__(self, kind: str, client: httpx.AsyncClient, clock: Callable[[], float] = time.time) -> None:
        if kind not in RATE_LIMITED:
            raise ValueError(f"unknown robot {kind!r}: wecom, dingtalk or feishu")
        self.kind = kind
        self.client = client
        self.clock = clock

    async def send(self, message: Outgoing) -> None:
        url, secret = _split_secret(message.address)
        text = f"{message.subject}\n{message.body}" if message.subject else message.body
        body: dict[str, Any]
        if self.kind == "wecom":
            body = {"msgtype": "text", "text": {"content": text}}
        elif self.kind == "dingtalk":
            body = {"msgtype": "text", "text": {"content": text}}
            if secret:
                stamp = str(int(self.clock() * 1000))
                url = _with_query(url, timestamp=stamp, sign=_sign_dingtalk(secret, stamp))
        else:
            body = {"msg_type": "text", "content": {"text": text}}
            if secret:
                stamp = str(int(self.clock()))
                body.update(timestamp=stamp, sign=_sign(secret, stamp))
        response = await post(
            self.client, url, f"{self.kind} robot", json=body, headers={IDEMPOTENCY_HEADER: message.idempotency_key}
        )
        self._check_verdict(response)

    def _check_verdict(self, response: httpx.Response) -> None:
        try:
            verdict = response.json()
        except ValueError as exc:
            raise TransientError(f"{self.kind} robot answered something that is not JSON: {response.text[:200]}") from exc
        code = verdict.get("errcode", verdict.get("code", verdict.get("StatusCode", 0)))
        if code in (0, None):
            return
        detail = f"{self.kind} robot refused with code {code}: {verdict.get('errmsg') or verdict.get('msg')}"
        if code in RATE_LIMITED[self.kind]:
            raise TransientError(detail, retry_after_s=60.0)  # the vendors count per minute
        raise PermanentError(detail)


def _split_secret(address: str) -> tuple[str, str | None]:
    parts = urlsplit(address)
    query = parse_qsl(parts.query, keep_blank_values=True)
    secret = next((value for key, value in query if key == "secret"), None)
    kept = urlencode([(key, value) for key, value in query if key != "secret"])
    return urlunsplit(parts._replace(query=kept)), secret


def _with_query(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
