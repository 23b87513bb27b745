"""Any other service apprise speaks (Telegram, Slack, ntfy, Bark, ServerChan, ...): the address is an apprise URL.

Apprise reports only success or failure, so every failure counts as transient and is
retried until the dispatcher gives up; there is no idempotency key on this path.
"""

from __future__ import annotations

import asyncio

import apprise

from alerts.channels.base import Outgoing, PermanentError, TransientError


class AppriseChannel:
    kind = "apprise"

    async def send(self, message: Outgoing) -> None:
        target = apprise.Apprise()
        if not target.add(message.address):
            raise PermanentError(f"apprise does not understand the address {message.address!r}")
        delivered = await asyncio.to_thread(target.notify, body=message.body, title=message.subject)
        if not delivered:
            raise TransientError("apprise could not deliver (it gives no reason; see its log)")
