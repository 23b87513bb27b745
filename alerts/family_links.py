"""Signed, expiring links in messages to families and elders ("I have checked on her / I cannot reach her").

The token (itsdangerous, HMAC-SHA1 over a timestamped payload, salted per purpose)
names the alert and the recipient; nothing in it can be changed without the secret,
and it is refused once older than ``max_age``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

SALT = "carewatch.family-link.v1"
PATH = "/f/"


class LinkRefused(Exception):
    """The link cannot be used; ``expired`` tells an old genuine link from a forged or damaged one."""

    def __init__(self, message: str, *, expired: bool) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class LinkClaim:
    alert_id: str
    recipient_id: str
    role: str  # "family" or "elder"


class _ClockedSigner(TimestampSigner):
    def __init__(self, *args: Any, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


class FamilyLinks:
    def __init__(
        self, secret: str, base_url: str, max_age: timedelta = timedelta(hours=72), clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise ValueError("family links need a secret (CAREWATCH_LINK_SECRET)")
        self.base_url = base_url.rstrip("/")
        self.max_age = max_age
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT, signer=_ClockedSigner, signer_kwargs={"clock": clock})

    def token(self, claim: LinkClaim) -> str:
        return self._serializer.dumps([claim.alert_id, claim.recipient_id, claim.role])

    def url(self, claim: LinkClaim) -> str:
        return f"{self.base_url}{PATH}{self.token(claim)}"

    def read(self, token: str) -> LinkClaim:
        try:
            alert_id, recipient_id, role = self._serializer.loads(token, max_age=int(self.max_age.total_seconds()))
        except SignatureExpired as exc:
            raise LinkRefused("this link has expired", expired=True) from exc
        except (BadSignature, ValueError, TypeError) as exc:
            raise LinkRefused("this link is not valid (it may have been cut short or altered)", expired=False) from exc
        if role not in ("family", "elder"):
            raise LinkRefused("this link is not valid", expired=False)
        return LinkClaim(str(alert_id), str(recipient_id), str(role))
