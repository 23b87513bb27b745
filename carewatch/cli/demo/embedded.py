"""`carewatch demo`: simulator → MQTT → ingest → detectors → alerts (→ console), in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
import time
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from rich.console import Console

from alerts.catchers import demo_catchers
from api.directory_import import import_document
from api.server import serve_console
from carewatch.cli.demo.parts import (
    LADDER_IN_LOCKSTEP, DemoOptions, broker_for, demo_summary, notifications_report, notifying,
)
from carewatch.cli.demo.lockstep import StepIntake, judge_step
from carewatch.cli.demo.numbers import with_numbers
from carewatch.cli.demo.pacing import Pacer, expected_alerts
from carewatch.cli.demo.seed import seed_console
from carewatch.clock import PacedClock, wall_clock
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import Pipeline, running_system
from carewatch.runners.embedded.service import follow_directory
from carewatch.schema import in_current_database
from carewatch.settings import Settings
from gateway_sim import SimConfig, Simulation, publish_simulation

log = logging.getLogger(__name__)


async def run_embedded_demo(settings: Settings, options: DemoOptions, console: Console) -> dict[str, object]:
    """The embedded engine's demo; headless returns the summary document, otherwise serves until cancelled."""
    started = time.monotonic()
    simulation = Simulation(
        SimConfig(households=options.households, days=options.days, seed=options.seed, start=options.start)
    )
    registry = Registry.from_document(simulation.registry_document())
    district = with_numbers(simulation.registry_document(), options.seed)  # the directory's: with phone numbers
    workdir = Path(tempfile.mkdtemp(prefix="carewatch-demo-"))
    # A fresh database per demo, so one run's alerts never mix with another's; simulated time drives ticks.
    settings = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{workdir / 'demo.db'}", "clock": "event"}
    )
    # The district in the directory (the console's households) before the notifications read the
    # people file, so its households are known there.
    await in_current_database(settings.database_url, lambda session: import_document(session, district))
    # With the console: one simulated clock for everything a person sees or does (alerts, acknowledgements, the
    # audit trail, the ladder, the handoff), standing still until the simulation starts. Headless keeps the
    # runner's own clocks (its summary counts what the ladder did by the readings' time), in lockstep: each upload
    # step judged in one batch, then the ladder's turn (carewatch/cli/demo/lockstep.py).
    clock = None if options.headless else PacedClock(options.start, pace=0.0)
    async with (
        broker_for(options) as address,
        demo_catchers(workdir / "caught", district["households"], options.seed, clock or wall_clock) as catchers,
        running_system(
            notifying(settings, catchers), registry, address, f"carewatch-demo-{workdir.name}", clock=clock,
            lockstep=StepIntake if options.headless else None,
        ) as system,
    ):
        if options.headless:
            published = await publish_simulation(simulation, address.host, address.port, after_step=partial(judge_step, system))
            await system.drain(published.readings)
            # The last step's turn sent every message; nothing runs the ladder or sends after it: this confirms it.
            assert system.notifications is not None
            settled = await system.notifications.catch_up(system.sessions)
            archive = system.pipeline.archiver
            if archive:
                await archive.emptied(timeout=300)  # the summary counts what InfluxDB acknowledged
            summary = await demo_summary(system.sessions, simulation, published, options, time.monotonic() - started)
            summary |= {"archived_readings": archive.archived if archive else None}
            return summary | {"notifications": await notifications_report(system.sessions, catchers, settled, LADDER_IN_LOCKSTEP)}

        assert clock is not None
        username, password = await seed_console(system.sessions, clock())
        follow = partial(follow_directory, system)  # the directory now holds the district: API changes reach the pipeline
        async with serve_console(
            notifying(settings, catchers), system.sessions, registry, status=system.pipeline.status, readiness=system.readiness,
            on_directory_change=follow, clock=clock,
        ) as serving:
            console.print(
                f"[bold green]Duty console:[/] http://{settings.http_host}:{settings.http_port}/  (English: ?lang=en)\n"
                f"[bold green]Demo account:[/] user [bold]{username}[/]  password [bold]{password}[/]\n"
                f"MQTT broker mqtt://{address.host}:{address.port}   database {workdir / 'demo.db'}\n"
                f"[bold green]Notifications:[/] http://{settings.http_host}:{settings.http_port}/notifications  "
                f"(mail caught in {catchers.directory / 'mail'}, SMS/robots in {catchers.directory / 'http.jsonl'})"
            )
            simulating = asyncio.create_task(_simulate_live(simulation, address, options, system, console, clock))
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


FLAT_OUT = 1_000_000.0
"""The fast pace when --speed asks for no limit: the broker's acknowledgements set the pace then."""


async def _simulate_live(simulation, address, options, system, console, clock: PacedClock) -> None:  # type: ignore[no-untyped-def]
    stop = threading.Event()  # Ctrl-C while the detectors are replayed: the thread ends too, and the demo with it
    try:
        expected = await asyncio.to_thread(expected_alerts, simulation, stop.is_set)  # when to slow down
    finally:
        stop.set()
    pacer = Pacer(
        clock, fast=options.speed or FLAT_OUT, slow=options.pace, lead=timedelta(seconds=options.approach_s * options.pace),
        expected=expected, on_change=_pace_line(console, options), judged=lambda: system.pipeline.newest_event,
    )
    watching = asyncio.create_task(pacer.watch(system.sessions), name="carewatch-demo-pacer")
    try:
        published = await publish_simulation(
            simulation, address.host, address.port, wait_until=pacer.wait_until, on_progress=_status_line(console, system.pipeline)
        )
        await system.drain(published.readings)
        pacer.finished = True
        console.print(
            f"[green]simulation finished[/]: {published.readings} readings judged; the console stays up — Ctrl-C to stop"
        )
        await watching  # the clock runs on at the slow pace: open alerts' ladders go on climbing
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching


def _pace_line(console: Console, options: DemoOptions):  # type: ignore[no-untyped-def]
    zone = options.start.tzinfo

    def said(why: str, at: datetime, pace: float) -> None:
        when = f"[dim]simulated {at.astimezone(zone):%Y-%m-%d %H:%M}[/]"
        if why == "near":
            console.print(f"{when}  [bold yellow]an alert is near[/]: slowing down, one simulated minute now takes {60 / pace:.0f} s")
        elif why == "open":
            console.print(f"{when}  [bold yellow]an alert waits for acknowledgement[/]: one simulated minute takes {60 / pace:.0f} s")
        elif why == "calm":
            hours = pace / 3600
            console.print(f"{when}  nothing waits for a person: fast, {hours:g} simulated hour{'' if hours == 1 else 's'} per second")

    return said


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


