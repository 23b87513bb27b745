"""Sends what the outbox holds: claim, send, record every attempt, retry with exponential backoff.

Guarantees (docs/notifications.md):
- nothing is lost: a message stays in the table until it is sent, refused for good, or
  older than ``give_up_after``; a dispatcher that dies holds its claim only until the lease ends;
- at most one dispatcher works on a message at a time (compare-and-set claim with a lease);
- a message re-sent after a crash between "the far side accepted" and "we recorded it" carries
  the same idempotency key (HTTP header, email Message-ID), so a receiver that honours it keeps one;
- a message sent after its alert was handled (it was on its way then) is followed by the update
  everyone reached before got ("handled by ..."), written once whichever side writes it;
- a message that failed for now after its alert was handled is cancelled, as the unsent ones were.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.channels.base import Channel, DeliveryError, Outgoing, PermanentError
from alerts.escalation import handled_first, tell_late_reached
from alerts.notify_tables import AttemptResult, DeliveryAttempt, MessageStatus, OutboxMessage
from carewatch import metrics
from carewatch.clock import wall_clock

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class Backoff:
    """When a message that failed for now is due again.  The outbox keeps the time (``next_attempt_at``)
    rather than a loop waiting in memory, so a retry survives a dispatcher's restart."""

    first: timedelta = timedelta(seconds=5)
    factor: float = 2.0
    cap: timedelta = timedelta(minutes=10)
    jitter: float = 0.2
    """Each wait is spread by up to ±jitter of itself, so dispatchers do not retry in lockstep."""

    def delay(self, attempts: int, retry_after_s: float | None, rng: random.Random) -> timedelta:
        wait = min(self.first * (self.factor ** max(0, attempts - 1)), self.cap)
        if self.jitter:
            wait *= 1 + rng.uniform(-self.jitter, self.jitter)
        if retry_after_s is not None:  # the far side said when; never earlier, never past the cap
            wait = max(wait, min(timedelta(seconds=retry_after_s), self.cap))
        return wait


@dataclass(frozen=True, slots=True)
class BatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime] = wall_clock,
        backoff: Backoff = Backoff(),
        lease: timedelta = timedelta(minutes=2),
        give_up_after: timedelta = timedelta(hours=24),
        batch_size: int = 50,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.channels = dict(channels)
        self.clock = clock
        self.backoff = backoff
        self.lease = lease
        self.give_up_after = give_up_after
        self.batch_size = batch_size
        self.rng = rng or random.Random()

    async def run(self, every: float = 1.0) -> None:
        """Until cancelled: send what is due, then wait ``every`` seconds when there was nothing to do."""
        while True:
            try:
                report = await self.run_once()
            except Exception:  # the database is away: keep trying, the messages are safe in it
                log.exception("dispatcher batch failed; trying again in %.1f s", every)
                report = BatchReport()
            if report.claimed < self.batch_size:
                await asyncio.sleep(every)

    async def run_once(self) -> BatchReport:
        """Claim up to ``batch_size`` due messages and try each once."""
        claimed = await self._claim()
        sent = retried = failed = 0
        for message in claimed:
            result = await self._deliver(message)
            sent += result is AttemptResult.SENT
            retried += result is AttemptResult.RETRY
            failed += result is AttemptResult.FAILED
        return BatchReport(len(claimed), sent, retried, failed)

    async def _claim(self) -> list[OutboxMessage]:
        now = self.clock()
        due = or_(
            and_(
                OutboxMessage.status == MessageStatus.PENDING,
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
            ),
            # A dispatcher died holding these: its lease is over.
            and_(OutboxMessage.status == MessageStatus.SENDING, OutboxMessage.lease_until <= now),
        )
        claimed = []
        async with self.sessions.begin() as session:
            candidates = (
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts)
                    .where(due)
                    .order_by(OutboxMessage.id)
                    .limit(self.batch_size)
                )
            ).all()
            for message_id, status, attempts in candidates:
                # Compare-and-set on (status, attempts): another dispatcher that claimed it first wins.
                won = await session.scalar(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id, OutboxMessage.status == status, OutboxMessage.attempts == attempts)
                    .values(
                        status=MessageStatus.SENDING,
                        lease_until=now + self.lease,
                        attempts=attempts + 1,
                    )
                    .returning(OutboxMessage.id)
                    .execution_options(synchronize_session=False)
                )
                if won is not None:
                    claimed.append(message_id)
            if not claimed:
                return []
            rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id))).all()
            for row in rows:
                if row.first_attempt_at is None:
                    row.first_attempt_at = now
            return list(rows)

    async def _deliver(self, message: OutboxMessage) -> AttemptResult:
        started = self.clock()
        channel = self.channels.get(message.channel)
        error: DeliveryError | None = None
        try:
            if channel is None:
                raise PermanentError(f"no {message.channel} channel is configured (see docs/notifications.md, settings)")
            await channel.send(
                Outgoing(
                    idempotency_key=message.idempotency_key,
                    address=message.address,
                    subject=message.subject,
                    body=message.body,
                    language=message.language,
                    recipient_name=message.recipient_name,
                    payload=message.payload,
                )
            )
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a bug in a channel must not lose the message: retry it, loudly
            log.exception("channel %s raised unexpectedly for message %d", message.channel, message.id)
            error = DeliveryError(f"unexpected {type(exc).__name__}: {exc}")
        finished = self.clock()
        result, values = self._verdict(message, error, finished)
        async with self.sessions.begin() as session:
            if result is AttemptResult.RETRY and (handled := await handled_first(session, message)):
                values = {"status": MessageStatus.CANCELLED, "lease_until": None, "last_error": f"{error}; {handled}"}
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message.id, OutboxMessage.status == MessageStatus.SENDING)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            session.add(
                DeliveryAttempt(
                    message_id=message.id, number=message.attempts, started_at=started, finished_at=finished,
                    result=result, detail=str(error) if error else "",
                )
            )
        if result is AttemptResult.SENT:
            await self._follow_if_handled(message)
        metrics.NOTIFICATIONS.labels(message.channel, result.value).inc()
        level = logging.INFO if result is AttemptResult.SENT else logging.WARNING
        log.log(level, "message %d (%s to %s): %s %s", message.id, message.channel, message.recipient_id, result.value, error or "")
        return result

    async def _follow_if_handled(self, message: OutboxMessage) -> None:
        """Sent after its alert was handled (on its way when it was): the update follows, as for everyone reached.
        Its own transaction, after the sent one: a failure here must not undo "sent" and send the message again."""
        try:
            async with self.sessions.begin() as session:
                if await tell_late_reached(session, message.id, self.clock()):
                    log.info("message %d went out after alert %s was handled: its recipient gets the update too", message.id, message.alert_id)
        except Exception:
            log.exception("message %d was sent after its alert %s was handled, and its update could not be written", message.id, message.alert_id)

    def _verdict(self, message: OutboxMessage, error: DeliveryError | None, now: datetime) -> tuple[AttemptResult, dict[str, object]]:
        if error is None:
            return AttemptResult.SENT, {"status": MessageStatus.SENT, "sent_at": now, "lease_until": None, "last_error": ""}
        first = message.first_attempt_at or now
        if not error.transient or now - first >= self.give_up_after:
            return AttemptResult.FAILED, {"status": MessageStatus.FAILED, "lease_until": None, "last_error": str(error)}
        wait = self.backoff.delay(message.attempts, error.retry_after_s, self.rng)
        return AttemptResult.RETRY, {
            "status": MessageStatus.PENDING, "next_attempt_at": now + wait, "lease_until": None, "last_error": str(error),
        }
