"""A message on its way when its alert is handled: whoever it reaches is told the outcome too.

The demo showed it in every run (docs/notifications.md, "A message in flight when the alert is handled"):
the ladder's first SMS to the elder was claimed by the dispatcher, the detectors auto-resolved the alert
while it was being sent, and the update ("the alert was handled") went to nobody, because the closing
transaction only tells those whose message was already marked sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from alerts.channels.base import Outgoing, TransientError
from alerts.dispatcher import Dispatcher
from alerts.notify_tables import MessageStatus
from alerts.outcomes import FalseAlarmReason, Outcome, OutcomeKind
from alerts.store import AlertStore
from tests.notify.conftest import ALERT, message, rows, write


class ClosesWhileSending:
    """A channel that accepts every message (or, with ``fails``, refuses the first); while the first one is on its
    way, ``closing`` runs."""

    kind = "sms"

    def __init__(self, closing: Callable[[], Awaitable[object]] | None, fails: Exception | None = None) -> None:
        self.closing: Callable[[], Awaitable[object]] | None = closing
        self.fails = fails
        self.sent: list[Outgoing] = []

    async def send(self, outgoing: Outgoing) -> None:
        if self.closing is not None:
            closing, self.closing = self.closing, None
            await closing()  # the duty officer acknowledges while the provider is still answering
            if self.fails is not None:
                raise self.fails
        self.sent.append(outgoing)


async def test_a_message_sent_while_its_alert_is_acknowledged_is_followed_by_the_update(sessions, clock):
    store = AlertStore(sessions, clock=clock)
    channel = ClosesWhileSending(
        lambda: store.acknowledge(ALERT.alert_id, "李明", outcome=Outcome(OutcomeKind.FALSE_ALARM, FalseAlarmReason.AWAY))
    )
    await write(sessions, [message(1, "sms", "+8613700000001")], clock.now)
    dispatcher = Dispatcher(sessions, {"sms": channel}, clock=clock)

    await dispatcher.run_once()  # the family message goes out; the alert is acknowledged meanwhile
    await dispatcher.run_once()  # and the update after it

    stored = await rows(sessions)
    assert [(m.purpose, m.recipient_id, m.channel, m.address, m.status) for m in stored] == [
        ("notify_family", "r1", "sms", "+8613700000001", MessageStatus.SENT),
        ("update", "r1", "sms", "+8613700000001", MessageStatus.SENT),
    ]
    assert [m.address for m in channel.sent] == ["+8613700000001", "+8613700000001"]
    assert "李明" in channel.sent[1].body and "误报" in channel.sent[1].body  # who took it on, and what they found


@pytest.mark.parametrize("handle", ["acknowledge", "resolve"])
async def test_a_message_sent_before_its_alert_is_handled_gets_one_update_and_the_update_none(sessions, clock, handle):
    store = AlertStore(sessions, clock=clock)
    channel = ClosesWhileSending(None)
    await write(sessions, [message(1, "sms", "+8613700000001")], clock.now)
    dispatcher = Dispatcher(sessions, {"sms": channel}, clock=clock)
    await dispatcher.run_once()
    await getattr(store, handle)(ALERT.alert_id, "李明")  # the closing transaction writes the update itself
    for _ in range(3):
        await dispatcher.run_once()

    stored = await rows(sessions)
    assert [(m.purpose, m.status) for m in stored] == [("notify_family", MessageStatus.SENT), ("update", MessageStatus.SENT)]
    assert len(channel.sent) == 2


@pytest.mark.parametrize("handle", ["acknowledge", "resolve"])
async def test_a_message_that_failed_while_its_alert_was_handled_is_not_retried(sessions, clock, handle):
    """Its retry would tell the family of a danger already handled, and nobody would ever send the update after it:
    the failed message is cancelled like every unsent one (before, the retry went out minutes after the handling)."""
    store = AlertStore(sessions, clock=clock)
    channel = ClosesWhileSending(lambda: getattr(store, handle)(ALERT.alert_id, "李明"), fails=TransientError("503 from the SMS gateway"))
    await write(sessions, [message(1, "sms", "+8613700000001")], clock.now)
    dispatcher = Dispatcher(sessions, {"sms": channel}, clock=clock)

    await dispatcher.run_once()  # fails for now while the alert is handled
    clock.advance(minutes=15)  # past every backoff
    await dispatcher.run_once()

    [stored] = await rows(sessions)
    assert (stored.purpose, stored.status) == ("notify_family", MessageStatus.CANCELLED)
    assert "503 from the SMS gateway" in stored.last_error and "李明" in stored.last_error
    assert channel.sent == []  # and no update: it reached nobody


async def test_an_update_that_fails_is_retried_although_its_alert_is_handled(sessions, clock):
    """The update is the news of the handling itself: it goes out whatever the alert's state."""
    store = AlertStore(sessions, clock=clock)
    channel = ClosesWhileSending(None)
    await write(sessions, [message(1, "sms", "+8613700000001")], clock.now)
    dispatcher = Dispatcher(sessions, {"sms": channel}, clock=clock)
    await dispatcher.run_once()
    channel.closing, channel.fails = (lambda: asyncio.sleep(0)), TransientError("timed out")
    await store.acknowledge(ALERT.alert_id, "李明")
    await dispatcher.run_once()  # the update fails for now
    clock.advance(minutes=15)
    await dispatcher.run_once()

    stored = await rows(sessions)
    assert [(m.purpose, m.status) for m in stored] == [("notify_family", MessageStatus.SENT), ("update", MessageStatus.SENT)]
    assert len(channel.sent) == 2
