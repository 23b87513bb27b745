"""Notifications beside the pipeline: the ladder attached to the alert store, an escalator and a dispatcher.

``start_notifications`` reads the people file and the policy named in settings, imports
the file's household contacts into the directory (where the ladder reads them at every
step, and the API edits them), builds the channels that are configured, and runs two
tasks until ``stop``. Without a people file it runs nothing and says so: alerts still get
their escalation rows, and the ladder picks them up once people are configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.channels.base import Channel
from alerts.channels.email import EmailChannel, SmtpSettings
from alerts.channels.provider import ProviderChannel
from alerts.channels.robots import RobotChannel
from alerts.channels.via_apprise import AppriseChannel
from alerts.channels.webhook import SignedWebhookChannel
from alerts.contacts import household_people, import_people
from alerts.dispatcher import Dispatcher
from alerts.family_links import FamilyLinks
from alerts.ladder import AlertLadder
from alerts.notify_tables import MessageStatus, OutboxMessage
from alerts.people import PeopleFile
from alerts.policy import DEFAULT_POLICY, EscalationPolicy
from alerts.store import AlertStore
from carewatch.clock import Clock, wall_clock
from carewatch.settings import Settings

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
IN_FLIGHT = (MessageStatus.PENDING, MessageStatus.SENDING)
"""Messages still on their way (held ones wait for quiet hours to end, on the ladder clock)."""
_IN_FLIGHT_COUNT = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(IN_FLIGHT)).scalar_subquery()


def channels_from(settings: Settings, client: httpx.AsyncClient, clock: Clock = wall_clock) -> dict[str, Channel]:
    """The configured channels; a message for any other channel fails visibly, naming the setting. ``clock`` dates
    the mail (the console demo's simulated time)."""
    channels: dict[str, Channel] = {
        "wecom": RobotChannel("wecom", client),
        "dingtalk": RobotChannel("dingtalk", client),
        "feishu": RobotChannel("feishu", client),
        "apprise": AppriseChannel(),
    }
    if settings.smtp_host:
        channels["email"] = EmailChannel(
            SmtpSettings(
                settings.smtp_host, settings.smtp_port, settings.smtp_sender,
                settings.smtp_username, settings.smtp_password, settings.smtp_starttls,
            ),
            clock,
        )
    if settings.sms_provider_url:
        channels["sms"] = ProviderChannel("sms", settings.sms_provider_url, settings.provider_token, client)
    if settings.voice_provider_url:
        channels["voice"] = ProviderChannel("voice", settings.voice_provider_url, settings.provider_token, client)
    if settings.webhook_secret:
        channels["webhook"] = SignedWebhookChannel(settings.webhook_secret, client)
    return channels


def ladder_clock(settings: Settings, event_time: Callable[[], datetime | None]) -> Callable[[], datetime]:
    """Simulated time when the pipeline runs on event time (the demo), else the wall clock."""
    if settings.clock == "event":
        return lambda: event_time() or EPOCH
    return lambda: datetime.now(UTC)


def family_links(settings: Settings, clock: Clock = wall_clock) -> FamilyLinks:
    """The links in messages to families; ``clock`` stamps them and tells their age (who writes a link and who reads
    it must share it: the console demo's simulated time on both sides, else the wall clock)."""
    base = settings.public_base_url or f"http://{settings.http_host}:{settings.http_port}"
    return FamilyLinks(settings.link_secret, base, settings.family_link_max_age, clock=lambda: clock().timestamp())


@dataclass
class Notifications:
    ladder: AlertLadder | None = None
    dispatcher: Dispatcher | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    client: httpx.AsyncClient | None = None
    store: AlertStore | None = None

    async def catch_up(self, sessions: async_sessionmaker[AsyncSession], timeout_s: float = 30.0) -> bool:
        """The ladder's steps, reminders and quiet-hours releases due by its clock now, and every message they make
        sendable sent (the headless demo's turn between two upload steps, with no escalator of its own: what the ladder
        does then depends on the simulated time reached, not on how fast this machine is). False, logged, if a message
        is still on its way after ``timeout_s`` (a channel failing: it is retried later, like any other)."""
        if self.ladder is None or self.dispatcher is None:
            return True  # notifications are off
        async with sessions() as session:
            due, on_their_way = (await session.execute(select(self.ladder.anything_due(), _IN_FLIGHT_COUNT))).one()
        if due:
            await self.ladder.tick(sessions)
        elif not on_their_way:
            return True  # most steps: nothing due, nothing to send (one query, not a tick and a dispatcher round)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if (await self.dispatcher.run_once()).claimed:
                continue
            if not await in_flight(sessions):
                return True
            if loop.time() > deadline:
                log.warning("the ladder's messages are still on their way after %.0f s; going on without them", timeout_s)
                return False
            await asyncio.sleep(0.02)  # another dispatcher holds them, or a retry is not due yet

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.store is not None:
            self.store.attach_ladder(None)
        if self.client is not None:
            await self.client.aclose()


async def start_notifications(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    store: AlertStore,
    event_time: Callable[[], datetime | None],
    clock: Callable[[], datetime] | None = None,
    tasks: bool = True,
) -> Notifications:
    """``clock``: the ladder's and the dispatcher's clock when the caller has one for everything (the console
    demo's simulated time); by default the ladder reads ``ladder_clock`` and the dispatcher the wall clock.
    ``tasks=False``: no escalator and no dispatcher; the caller ticks the ladder and sends with
    ``Notifications.catch_up`` (the headless demo, between two upload steps)."""
    if settings.people_path is None:
        log.warning("notifications are off: set CAREWATCH_PEOPLE_PATH to a people file (docs/notifications.md)")
        return Notifications()
    directory = PeopleFile.load(settings.people_path)
    policy = EscalationPolicy.load(settings.escalation_policy_path or DEFAULT_POLICY)
    async with sessions.begin() as session:
        imported = await import_people(session, directory)
    log.info(imported.describe())
    # One source of household people at run time: the directory (the file's households were just imported into it).
    sites = PeopleFile(directory.sites.values(), ())
    ladder = AlertLadder(
        sites, policy, clock or ladder_clock(settings, event_time), family_links(settings, clock or wall_clock), household_people, audit_clock=clock or wall_clock
    )
    store.attach_ladder(ladder)
    client = httpx.AsyncClient(timeout=10.0)
    dispatcher = Dispatcher(sessions, channels_from(settings, client, clock or wall_clock), clock=clock or wall_clock, give_up_after=settings.delivery_give_up_after)
    running = [
        asyncio.create_task(_escalate(ladder, sessions, settings.escalate_every.total_seconds()), name="carewatch-escalator"),
        asyncio.create_task(dispatcher.run(settings.dispatch_every.total_seconds()), name="carewatch-dispatcher"),
    ] if tasks else []
    log.info("notifications on: %d sites from %s, household contacts from the directory", len(directory.sites), settings.people_path)
    return Notifications(ladder, dispatcher, running, client, store)


async def settle(sessions: async_sessionmaker[AsyncSession], timeout_s: float, quiet_s: float = 1.0) -> bool:
    """Wait until nothing is on its way (every message not held for quiet hours delivered or given up) and the
    escalator has written nothing new for ``quiet_s``; False if that takes longer than ``timeout_s``.

    For a run whose ladder clock has stopped (the headless demo after its last reading): the steps due by then
    are written within an escalator period, and ``quiet_s`` must be a few of those.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    last_total, quiet_since = -1, loop.time()
    while True:
        on_their_way, total = await _outbox_counts(sessions)
        if total != last_total or on_their_way:
            last_total, quiet_since = total, loop.time()
        elif loop.time() - quiet_since >= quiet_s:
            return True
        if loop.time() > deadline:
            log.warning("notifications not settled after %.0f s: %d messages still on their way", timeout_s, on_their_way)
            return False
        await asyncio.sleep(0.1)


async def in_flight(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Messages on their way: to be sent or being sent (not those held for quiet hours)."""
    return (await _outbox_counts(sessions))[0]


async def _outbox_counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """(messages on their way, messages in all)."""
    async with sessions() as session:
        on_their_way, total = (
            await session.execute(
                select(func.count().filter(OutboxMessage.status.in_(IN_FLIGHT)), func.count()).select_from(OutboxMessage)
            )
        ).one()
    return on_their_way, total


async def _escalate(ladder: AlertLadder, sessions: async_sessionmaker[AsyncSession], every: float) -> None:
    while True:
        try:
            await ladder.tick(sessions)
        except Exception:  # the database is away for a moment: the escalation rows wait in it
            log.exception("escalator tick failed; trying again in %.1f s", every)
        await asyncio.sleep(every)
