"""`carewatch demo`: simulator → MQTT → ingest → detectors → alerts (→ console), in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from alerts.catchers import Catchers, caught_http, caught_mail, demo_catchers
from alerts.notifications import settle
from alerts.outbox import delivery_report
from carewatch.broker import embedded_broker
from api.demo_seed import seed_console
from carewatch.console import serve_console
from carewatch.db import make_engine, make_sessions
from carewatch.directory_import import import_document
from carewatch.evaluation import RaisedAlert, TruthIncident, evaluate
from carewatch.registry import Registry
from carewatch.schema import create_schema
from carewatch.service import follow_directory
from carewatch.settings import Settings
from carewatch.wiring import Pipeline, running_system
from gateway_sim import SimConfig, Simulation
from ingest.stats import read_stats
from ingest.subscriber import BrokerAddress

log = logging.getLogger(__name__)

DEMO_START = datetime(2026, 1, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
DEMO_SETTINGS = {"environment": "development", "cookie_secure": False, "link_secret": secrets.token_urlsafe(32)}
"""The demo runs in development, explicitly: its console is plain http on this machine, and its family links
are signed with a secret of its own (one per run: they die with the demo's database)."""
NOTIFY_SETTLE_S = 30.0
"""Headless: how long to wait at most for the ladder and the dispatcher to finish after the last reading."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    households: int = 50
    days: float = 3.0
    seed: int = 1
    headless: bool = False
    speed: float | None = 3600.0
    """Simulated seconds per real second (None: as fast as the machine allows)."""
    mqtt_url: str | None = None
    start: datetime = DEMO_START
    engine: str = "embedded"
    """"embedded": one process; "faust": bridge → Kafka → Faust worker → alert service (headless only)."""


@contextlib.asynccontextmanager
async def _broker(options: DemoOptions) -> AsyncIterator[BrokerAddress]:
    if options.mqtt_url:
        yield BrokerAddress.from_url(options.mqtt_url)
        return
    async with embedded_broker() as (host, port):
        yield BrokerAddress(host, port)


async def run_demo(settings: Settings, options: DemoOptions, console: Console) -> dict[str, object]:
    """Run the demo; headless returns the summary document, otherwise serves until cancelled."""
    if options.engine == "faust":
        from carewatch.stream.demo import run_faust_demo

        return await run_faust_demo(settings, options, console)
    started = time.monotonic()
    simulation = Simulation(
        SimConfig(households=options.households, days=options.days, seed=options.seed, start=options.start)
    )
    registry = Registry.from_document(simulation.registry_document())
    workdir = Path(tempfile.mkdtemp(prefix="carewatch-demo-"))
    # A fresh database per demo, so one run's alerts never mix with another's; simulated time drives ticks.
    settings = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{workdir / 'demo.db'}", "clock": "event"}
    )
    # The district in the directory (the console's households) before the notifications read the
    # people file, so its households are known there.
    await _district_in_directory(settings, simulation.registry_document())
    async with (
        _broker(options) as address,
        demo_catchers(workdir / "caught", simulation.registry_document()["households"], options.seed) as catchers,
        running_system(_notifying(settings, catchers), registry, address, f"carewatch-demo-{workdir.name}") as system,
    ):
        if options.headless:
            published = await simulation.publish(address.host, address.port)
            await system.drain(published.readings)
            # The ladder's last steps and the dispatcher's last sends, so the summary shows what really reached the catchers.
            settled = await settle(system.sessions, NOTIFY_SETTLE_S, quiet_s=1.0)  # four escalator periods (_notifying)
            summary = await _summary(system.sessions, simulation, published, options, time.monotonic() - started)
            return summary | {"notifications": await _notifications(system.sessions, catchers, settled)}

        username, password = await seed_console(system.sessions)
        follow = partial(follow_directory, system)  # the directory now holds the district: API changes reach the pipeline
        async with serve_console(
            _notifying(settings, catchers), system.sessions, registry, status=system.pipeline.status, on_directory_change=follow
        ) as serving:
            console.print(
                f"[bold green]Duty console:[/] http://{settings.http_host}:{settings.http_port}/  (English: ?lang=en)\n"
                f"[bold green]Demo account:[/] user [bold]{username}[/]  password [bold]{password}[/]\n"
                f"MQTT broker mqtt://{address.host}:{address.port}   database {workdir / 'demo.db'}\n"
                f"[bold green]Notifications:[/] http://{settings.http_host}:{settings.http_port}/notifications  "
                f"(mail caught in {catchers.directory / 'mail'}, SMS/robots in {catchers.directory / 'http.jsonl'})"
            )
            simulating = asyncio.create_task(_simulate_live(simulation, address, options, system, console))
            # Ctrl-C stops the console (it owns the signal): stop the simulation with it, not after it.
            try:
                await asyncio.wait([serving, simulating], return_when=asyncio.FIRST_COMPLETED)
                if simulating.done():
                    simulating.result()
                    await serving
            finally:
                simulating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await simulating
        console.print("stopped")
    return {}


async def _district_in_directory(settings: Settings, document: dict[str, Any]) -> None:
    engine = make_engine(settings.database_url)
    try:
        await create_schema(engine)
        async with make_sessions(engine).begin() as session:
            await import_document(session, document)
    finally:
        await engine.dispose()


async def _simulate_live(simulation, address, options, system, console) -> None:  # type: ignore[no-untyped-def]
    published = await simulation.publish(
        address.host, address.port, speed=options.speed, on_progress=_status_line(console, system.pipeline)
    )
    await system.drain(published.readings)
    console.print(
        f"[green]simulation finished[/]: {published.readings} readings judged; the console stays up — Ctrl-C to stop"
    )


async def _summary(sessions, simulation, published, options, elapsed_s: float, stats=None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from alerts.store import AlertStore

    store = AlertStore(sessions)
    rows = await store.list(limit=100_000)
    if stats is None:  # the Faust engine passes what it read back from Kafka
        async with sessions() as session:
            stats = await read_stats(session)
    raised = [RaisedAlert(a.id, a.household_id, a.alert_type, a.onset, a.raised_at) for a in rows]
    incidents = [TruthIncident(i.household_id, str(i.kind), i.start) for i in simulation.incidents]
    verdict = evaluate(incidents, raised)
    return {
        "households": options.households,
        "days": options.days,
        "seed": options.seed,
        "simulated_from": options.start.isoformat(),
        "simulated_to": published.sim_end.isoformat(),
        "elapsed_s": round(elapsed_s, 1),
        "readings": {
            "published": published.readings,
            "accepted": stats.readings_accepted,
            "duplicates": stats.readings_duplicate,
            "rejected": stats.rejected_by_reason,
        },
        "incidents": [
            {
                **incident.to_json(),
                "detected_by": outcome.alert.alert_id if outcome.alert else None,
                "delay_h": round(outcome.delay_h, 2) if outcome.delay_h is not None else None,
            }
            for incident, outcome in zip(simulation.incidents, verdict.outcomes, strict=True)
        ],
        "alerts": [
            {
                "alert_id": a.id,
                "household_id": a.household_id,
                "type": str(a.alert_type),
                "severity": str(a.severity),
                "status": str(a.status),
                "onset": a.onset.isoformat(),
                "raised_at": a.raised_at.isoformat(),
                "explanation_en": a.explanation_en,
            }
            for a in sorted(rows, key=lambda a: (a.raised_at, a.id))
        ],
        "verdict": {
            "incidents": len(verdict.outcomes),
            "detected": len(verdict.outcomes) - len(verdict.missed),
            "missed": [o.incident.household_id + ":" + o.incident.kind for o in verdict.missed],
            "unexplained_alerts": [a.alert_id for a in verdict.unexplained],
            "false_inactivity_alerts": [a.alert_id for a in verdict.false_inactivity],
        },
    }


async def _notifications(sessions, catchers: Catchers, settled: bool) -> dict[str, object]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        report = await delivery_report(session)
    return {
        "settled": settled,
        **report,
        "caught": {"mail": len(caught_mail(catchers.directory, limit=1_000_000)), "http": len(caught_http(catchers.directory, limit=1_000_000))},
        "catcher_dir": str(catchers.directory),
    }


def _notifying(settings: Settings, catchers: Catchers) -> Settings:
    """Every channel of the ladder leads to the local catchers; the escalator looks often, since simulated time flies."""
    return settings.model_copy(
        update={
            "people_path": catchers.people_path,
            "smtp_host": "127.0.0.1",
            "smtp_port": catchers.smtp_port,
            "smtp_sender": "alerts@carewatch.example",
            "sms_provider_url": f"{catchers.http_url}/sms",
            "voice_provider_url": f"{catchers.http_url}/voice",
            "catcher_dir": catchers.directory,
            "escalate_every": timedelta(seconds=0.25),
            "dispatch_every": timedelta(seconds=0.25),
        }
    )


def _status_line(console: Console, pipeline: Pipeline):  # type: ignore[no-untyped-def]
    last = [0.0]

    def progress(sim_time: datetime, messages: int) -> None:
        now = time.monotonic()
        if now - last[0] < 1.0:
            return
        last[0] = now
        console.print(
            f"[dim]simulated {sim_time:%Y-%m-%d %H:%M}  {messages} messages published, {pipeline.readings_seen} readings judged[/]"
        )

    return progress


