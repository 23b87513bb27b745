"""`carewatch demo` with the console keeps one time: the alert, the acknowledgement, the audit trail, the ladder,
the board and the shift handoff all say simulated time, and the simulation has slowed down when the alert comes,
so the ladder has not run past its first step before a person watching could acknowledge.

Before (issue 15 item 6): acknowledgements carried today's wall clock beside the alert's simulated January, and
the ladder, on the readings' time at the fast pace, had sent reminders before anyone could act.

Real parts: the whole console demo in this process (embedded MQTT broker, pipeline, ladder, dispatcher, catchers,
console on a free port), signed in and acknowledged over HTTP as a browser would.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from sqlalchemy import select

from alerts.catchers import caught_http, caught_mail
from alerts.lifecycle import AlertStatus, AuditAction
from alerts.models import Alert, AlertEvent
from alerts.notify_tables import Escalation
from carewatch.cli.demo import DemoOptions, run_demo
from carewatch.db import make_engine, make_sessions
from carewatch.domain import Audience
from carewatch.loopback import free_port
from carewatch.settings import Settings
from tests.api.conftest import CSRF_INPUT

pytestmark = pytest.mark.service  # the whole console demo

ACCOUNT = re.compile(r"Demo account: user (\S+)\s+password (\S+)")
DATABASE = re.compile(r"database (\S+\.db)")
CAUGHT = re.compile(r"SMS/robots in (\S+)/http\.jsonl")
FAST, PACE = 36_000.0, 5.0  # ten simulated hours per second until the alert is near; then 5 simulated seconds per second
OPTIONS = {"households": 5, "days": 1.5, "seed": 4}  # its first alert is raised about 26 simulated hours in


async def _said(out: io.StringIO, pattern: re.Pattern[str], demo: asyncio.Task[object], timeout: float = 60.0) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while not (found := pattern.search(out.getvalue())):
        if demo.done():
            demo.result()
        assert time.monotonic() < deadline, out.getvalue()
        await asyncio.sleep(0.1)
    return found


async def test_the_console_demo_shows_one_time_and_leaves_time_to_acknowledge_before_the_ladder_climbs():
    port = free_port()
    out = io.StringIO()
    settings = Settings(_env_file=None, http_port=port)  # type: ignore[call-arg]
    options = DemoOptions(**OPTIONS, speed=FAST, pace=PACE, approach_s=2.0)
    demo = asyncio.create_task(run_demo(settings, options, Console(file=out, width=500)))
    engine = None
    handled: list[tuple[str, float, Audience]] = []  # (alert id, real seconds from its arrival to its acknowledgement, audience)
    try:
        username, password = (await _said(out, ACCOUNT, demo)).groups()
        engine = make_engine(f"sqlite+aiosqlite:///{(await _said(out, DATABASE, demo)).group(1)}")
        sessions = make_sessions(engine)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:  # a person signs in
            form = await client.get("/login")
            token = CSRF_INPUT.search(form.text).group(1)  # type: ignore[union-attr]
            assert (await client.post("/login", data={"username": username, "password": password, "csrf_token": token})).status_code == 303
            board = await client.get("/")
            client.headers["X-CSRF-Token"] = CSRF_INPUT.search(board.text).group(1)  # type: ignore[union-attr]

            deadline = time.monotonic() + 120
            while not any(audience is Audience.CARE for _, _, audience in handled):  # each alert as it comes, up to a care one
                async with sessions() as session:
                    alert = (await session.scalars(select(Alert).where(Alert.status == AlertStatus.OPEN).order_by(Alert.created_at).limit(1))).first()
                if alert is None:
                    assert time.monotonic() < deadline and not demo.done(), out.getvalue()
                    await asyncio.sleep(0.05)
                    continue
                seen_at = time.monotonic()
                board = await client.get("/")  # the board with the alert on it
                acknowledged = await client.post(
                    f"/console/alerts/{alert.id}/acknowledge", data={"outcome": "safe", "note": "called: all well"}
                )
                assert acknowledged.status_code in (200, 303), acknowledged.text[:500]
                handled.append((alert.id, time.monotonic() - seen_at, alert.audience))
            handoff = await client.get("/handoff")
            caught = Path((await _said(out, CAUGHT, demo)).group(1))
            deadline = time.monotonic() + 30
            while not caught_http(caught) and not caught_mail(caught):  # the dispatcher's first sends reach the catchers
                assert time.monotonic() < deadline and not demo.done(), out.getvalue()
                await asyncio.sleep(0.1)
            notifications = await client.get("/notifications")  # what the catchers caught, with their times
            # What was caught so far, read before the console's now below: once every alert is acknowledged the demo
            # runs fast again, and a message caught after that page was served is rightly later than its now.
            sent = [datetime.fromisoformat(str(entry["at"])) for entry in caught_http(caught)]
            sent += [mail["Date"].datetime for _, mail in caught_mail(caught)]
            live_board = await client.get("/")  # the live panel's newest reading and the console's now, after everything above

        async with sessions() as session:
            alerts = {a.id: a for a in (await session.scalars(select(Alert).where(Alert.id.in_([h[0] for h in handled])))).all()}
            escalations = {e.alert_id: e for e in (await session.scalars(select(Escalation).where(Escalation.alert_id.in_(alerts)))).all()}
            trails = (await session.scalars(select(AlertEvent).where(AlertEvent.alert_id.in_(alerts)))).all()
    finally:
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo
        if engine is not None:
            await engine.dispose()

    for alert_id, acted_in, _ in handled:
        stored, escalation = alerts[alert_id], escalations[alert_id]
        assert stored.status is AlertStatus.ACKNOWLEDGED
        raised = stored.raised_at
        # Everything about the alert happened within simulated hours of its raising, not today on the wall clock.
        window = (raised - timedelta(minutes=5), raised + timedelta(hours=2))
        assert window[0] <= stored.created_at <= window[1], (alert_id, raised, stored.created_at)
        assert stored.acknowledged_at is not None and window[0] <= stored.acknowledged_at <= window[1], (alert_id, raised, stored.acknowledged_at)
        trail = [e for e in trails if e.alert_id == alert_id]
        for event in trail:
            assert window[0] <= event.at <= window[1], (alert_id, event.action, event.at, raised)
        assert AuditAction.ACKNOWLEDGED in {e.action for e in trail}
        # The person took `acted_in` real seconds: at the slow pace that is PACE times as many simulated ones.
        took = stored.acknowledged_at - stored.created_at
        assert took <= timedelta(seconds=(acted_in + 2) * PACE), (alert_id, acted_in, took)
        # The ladder had run its first step only (the one due at once): no reminder, not the family, nobody further up.
        assert (escalation.next_step, escalation.reminders_sent) == (1, 0), (alert_id, escalation.next_step, escalation.reminders_sent)
    # The board counts "time open" on the same clock, and the handoff's shift (the last 12 hours) holds the alerts.
    now_on_board = datetime.fromisoformat(re.search(r'data-now="([^"]+)"', board.text).group(1))  # type: ignore[union-attr]
    first = alerts[handled[0][0]].raised_at
    assert first <= now_on_board <= first + timedelta(hours=4), (now_on_board, first)
    assert handoff.status_code == 200 and all(alert_id in handoff.text for alert_id, _, _ in handled)
    assert "an alert is near" in out.getvalue(), out.getvalue()  # the demo said it slowed down before the alert came
    # What the ladder sent reached the catchers at simulated time too, and the pages say it in local time words,
    # never today's wall-clock date (the caught SMS and mail, the live panel's newest reading).
    now_at_last = datetime.fromisoformat(re.search(r'data-now="([^"]+)"', live_board.text).group(1))  # type: ignore[union-attr]
    assert sent and all(first - timedelta(minutes=5) <= moment <= now_at_last for moment in sent), (first, now_at_last, sent)
    wall_days = [f"{day:%Y-%m-%d}" for day in (datetime.now(UTC) + timedelta(days=d) for d in (-1, 0, 1))]
    assert notifications.status_code == 200 and not any(day in notifications.text for day in wall_days), wall_days
    newest = re.search(r'data-key="event_time">([^<]+)<', live_board.text)
    assert newest and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", newest.group(1)), newest
