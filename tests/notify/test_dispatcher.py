"""The dispatcher: outages and recoveries lose nothing and repeat nothing; every attempt is recorded."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from prometheus_client import REGISTRY

from alerts.channels.email import EmailChannel, SmtpSettings
from alerts.channels.provider import ProviderChannel
from alerts.channels.webhook import SignedWebhookChannel
from alerts.dispatcher import Backoff, Dispatcher
from alerts.notify_tables import AttemptResult, MessageStatus
from tests.notify.conftest import attempts, message, rows, write
from tests.notify.receivers import http_receiver

NO_JITTER = Backoff(first=timedelta(seconds=5), factor=2.0, cap=timedelta(minutes=10), jitter=0.0)


async def test_outage_then_recovery_every_message_arrives_exactly_once(sessions, clock, client, mailbox):
    with http_receiver(script=[500, (429, 30), "timeout", "drop", 503, 502]) as web:
        channels = {
            "sms": ProviderChannel("sms", f"{web.url}/sms", None, client),
            "webhook": SignedWebhookChannel("secret", client),
            "email": EmailChannel(SmtpSettings("127.0.0.1", mailbox.port, "alerts@carewatch.example", timeout_s=1)),
        }
        mailbox.stop()  # the mail server is down when the alert fires
        batch = (
            [message(n, "sms", f"+861370000000{n}") for n in range(4)]
            + [message(n, "webhook", f"{web.url}/hook") for n in range(4, 7)]
            + [message(n, "email", f"family{n}@example.cn") for n in range(7, 10)]
        )
        await write(sessions, batch, clock.now)
        dispatcher = Dispatcher(sessions, channels, clock=clock, backoff=NO_JITTER)

        for round_ in range(12):
            await dispatcher.run_once()
            if round_ == 2:
                mailbox.start()
                mailbox.refuse_next = 2  # back, but busy for a moment
            clock.advance(minutes=10)
            if all(row.status is MessageStatus.SENT for row in await rows(sessions)):
                break

        stored = await rows(sessions)
        assert {row.status for row in stored} == {MessageStatus.SENT}
        http_keys = {m.idempotency_key for m in batch if m.channel != "email"}
        assert web.delivered() == Counter({key: 1 for key in http_keys}), "each HTTP message accepted exactly once"
        assert sorted(mailbox.by_message_id().values()) == [1, 1, 1], "each email arrived exactly once"
        tries = await attempts(sessions)
        assert len(tries) == sum(row.attempts for row in stored)
        assert Counter(t.result for t in tries)[AttemptResult.SENT] == 10
        assert Counter(t.result for t in tries)[AttemptResult.RETRY] >= 6 + 3 + 2  # HTTP script, SMTP down, SMTP busy
        assert any("timed out" in t.detail for t in tries) and any("HTTP 429" in t.detail for t in tries)


async def test_retries_back_off_exponentially_and_honour_retry_after(sessions, clock, client):
    with http_receiver(script=[500, 500, 500, (429, 120), 500]) as web:
        await write(sessions, [message(1, "sms", "+8613700000001")], clock.now)
        dispatcher = Dispatcher(sessions, {"sms": ProviderChannel("sms", web.url, None, client)}, clock=clock, backoff=NO_JITTER)
        waits = []
        for _ in range(6):
            before = clock.now
            report = await dispatcher.run_once()
            assert report.claimed == 1, "a message is never claimed before its next attempt is due"
            [row] = await rows(sessions)
            if row.status is MessageStatus.SENT:
                break
            waits.append((row.next_attempt_at - before).total_seconds())
            clock.now = row.next_attempt_at - timedelta(seconds=1)
            assert (await dispatcher.run_once()).claimed == 0
            clock.now = row.next_attempt_at
    assert waits == [5, 10, 20, 120, 80]
    assert row.status is MessageStatus.SENT and row.attempts == 6


def notifications_counted(channel: str, result: str) -> float:
    return REGISTRY.get_sample_value("carewatch_notifications_total", {"channel": channel, "result": result}) or 0.0


async def test_a_refusal_is_final_and_recorded(sessions, clock, client):
    counted_before = notifications_counted("sms", "failed"), notifications_counted("voice", "failed")
    with http_receiver(script=[400]) as web:
        await write(sessions, [message(1, "sms", "+8613700000001"), message(2, "voice", "+8613700000002")], clock.now)
        await Dispatcher(sessions, {"sms": ProviderChannel("sms", web.url, None, client)}, clock=clock).run_once()

    refused, unconfigured = await rows(sessions)
    assert (refused.status, refused.attempts) == (MessageStatus.FAILED, 1)
    assert "HTTP 400" in refused.last_error
    assert unconfigured.status is MessageStatus.FAILED and "no voice channel is configured" in unconfigured.last_error
    assert [t.result for t in await attempts(sessions)] == [AttemptResult.FAILED, AttemptResult.FAILED]
    counted = notifications_counted("sms", "failed"), notifications_counted("voice", "failed")
    assert (counted[0] - counted_before[0], counted[1] - counted_before[1]) == (1, 1)  # carewatch_notifications_total


async def test_a_message_failing_for_a_day_is_given_up_visibly(sessions, clock, client):
    with http_receiver(script=[500] * 100) as web:
        await write(sessions, [message(1, "sms", "+8613700000001")], clock.now)
        dispatcher = Dispatcher(
            sessions, {"sms": ProviderChannel("sms", web.url, None, client)}, clock=clock, backoff=NO_JITTER,
            give_up_after=timedelta(hours=1),
        )
        for _ in range(10):
            await dispatcher.run_once()
            clock.advance(minutes=10)
    [row] = await rows(sessions)
    assert row.status is MessageStatus.FAILED and "HTTP 500" in row.last_error
    assert row.attempts == 7  # at 0, 10, ..., 60 minutes


async def test_a_claim_left_by_a_dead_dispatcher_is_taken_over_when_its_lease_ends(sessions, clock, client, receiver):
    await write(sessions, [message(n, "sms", "+8613700000001") for n in range(3)], clock.now)
    channels = {"sms": ProviderChannel("sms", receiver.url, None, client)}
    dead = Dispatcher(sessions, channels, clock=clock, lease=timedelta(minutes=2))
    assert len(await dead._claim()) == 3  # ...and it dies before sending anything

    survivor = Dispatcher(sessions, channels, clock=clock, lease=timedelta(minutes=2))
    assert (await survivor.run_once()).claimed == 0, "the dead dispatcher's lease still holds"
    clock.advance(minutes=2)
    assert (await survivor.run_once()).sent == 3
    assert sorted(receiver.delivered().values()) == [1, 1, 1]


async def test_two_dispatchers_at_once_send_each_message_once(sessions, clock, client, receiver):
    await write(sessions, [message(n, "sms", "+8613700000001") for n in range(30)], clock.now)
    channels = {"sms": ProviderChannel("sms", receiver.url, None, client)}
    first, second = (Dispatcher(sessions, channels, clock=clock, batch_size=10) for _ in range(2))

    for _ in range(3):
        await asyncio.gather(first.run_once(), second.run_once())

    assert {row.status for row in await rows(sessions)} == {MessageStatus.SENT}
    assert len(receiver.requests) == 30 and set(receiver.delivered().values()) == {1}
