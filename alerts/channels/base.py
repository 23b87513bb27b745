"""The channel interface: send one rendered message, or say whether a retry could help."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One outbox message as a channel sees it."""

    idempotency_key: str
    address: str
    subject: str
    body: str
    language: str = "zh-CN"
    recipient_name: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """The message was not delivered."""

    transient = True

    def __init__(self, detail: str, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class TransientError(DeliveryError):
    """An outage, a timeout, a 429 or 5xx: the same message may well go through later."""


class PermanentError(DeliveryError):
    """A refusal that a retry cannot fix: bad address, unknown robot key, bad credentials."""

    transient = False


class Channel(Protocol):
    kind: str

    async def send(self, message: Outgoing) -> None:
        """Return when the far side accepted the message; raise a DeliveryError otherwise."""
        ...


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP dates are allowed too; the backoff then decides


def check_http(response: httpx.Response, what: str) -> None:
    """2xx passes; 408, 425, 429 and 5xx are worth retrying; other refusals are final."""
    if response.is_success:
        return
    detail = f"{what} answered HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code in (408, 425, 429) or response.status_code >= 500:
        raise TransientError(detail, retry_after(response))
    raise PermanentError(detail)


async def post(client: httpx.AsyncClient, url: str, what: str, **kwargs: Any) -> httpx.Response:
    """POST, turning network failures into transient errors that name the channel."""
    try:
        response = await client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TransientError(f"{what} timed out: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:  # refused, reset, DNS: the far side may come back
        raise TransientError(f"{what} unreachable: {type(exc).__name__}: {exc}") from exc
    check_http(response, what)
    return response
