"""The duty console in a real browser (Debian chromium driven by Playwright) over a running pipeline.

An officer signs in and waits on the board; the simulator's inactive elder makes the detectors
raise a critical alert, which appears without a reload (server-sent events); the officer
acknowledges it with an outcome and it leaves the open list. A screenshot is kept in
test-artifacts/ for a person to look at.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.app import create_app
from api.auth import create_user
from api.models import Role
from carewatch.cli.demo.mqtt_broker import embedded_broker
from carewatch.cli.demo import DEMO_START
from api.directory_import import import_document
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.runners.embedded.pipeline import running_system
from gateway_sim import SimConfig, Simulation, publish_simulation
from gateway_sim.incidents import Incident, IncidentKind
from ingest.stats import read_stats
from ingest.subscriber import BrokerAddress
from tests.api.live import served
from tests.console.conftest import PASSWORD, screenshot, signed_in

pytestmark = pytest.mark.service



async def test_an_alert_appears_live_and_leaves_the_open_list_once_acknowledged(tmp_path, browser):
    simulation = Simulation(SimConfig(households=2, days=1.6, seed=3, start=DEMO_START,
                                      incidents=[Incident("hh-0001", IncidentKind.INACTIVE, DEMO_START + timedelta(hours=7))]))
    document = simulation.registry_document()
    registry = Registry.from_document(document)
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}", clock="event",  # type: ignore[call-arg]
                        board_poll_interval=timedelta(seconds=0.25))

    async with embedded_broker() as (host, port), running_system(settings, registry, BrokerAddress(host, port), "browser-test") as system:
        async with system.sessions.begin() as session:
            await import_document(session, document)
            sites = {h["site"] for h in document["households"]}
            await create_user(session, "zhang.san", PASSWORD, Role.DUTY, sites, display_name="张三")
        app = create_app(sessions=system.sessions, registry=registry, settings=settings, status=system.pipeline.status)
        async with served(app) as base:
            page = await signed_in(browser, f"{base}/", "zhang.san")
            await page.wait_for_selector("#connection.up")
            assert await page.locator("#open li.alert").count() == 0
            await page.evaluate("window.stillTheSamePage = true")

            published = await publish_simulation(simulation, host, port)
            await system.drain(published.readings)
            row = page.locator("#open li.alert[data-severity=critical]").first
            await row.wait_for(timeout=30_000)
            assert await page.evaluate("window.stillTheSamePage === true"), "the alert must arrive without a reload"
            async with system.sessions() as session:
                accepted = (await read_stats(session)).readings_accepted
            await page.wait_for_function(  # the ingest counters follow over the same stream
                "n => document.querySelector('#ingest [data-counter=readings_accepted]').textContent === String(n)",
                arg=accepted, timeout=15_000,
            )
            assert await page.locator("#live").is_visible()
            assert "最新数据时间" in await page.locator("#live").inner_text()  # the runner's figures in Chinese
            assert await page.locator("#new-critical").is_visible()
            alert_id = await row.get_attribute("data-alert")
            assert alert_id and alert_id.startswith("hh-0001.no_")
            await screenshot(page, "console-board-live-alert.png")

            await row.locator("summary.acknowledge").click()
            await row.locator("input[name=outcome][value=safe]").check()
            await row.locator("textarea[name=note]").first.fill("已电话联系老人，身体不适但无需送医")
            await row.locator("button.primary").click()
            await page.wait_for_selector(f'#in-hand li[data-alert="{alert_id}"]')
            assert await page.locator(f'#open li[data-alert="{alert_id}"]').count() == 0
            assert "张三" in await page.locator(f'#in-hand li[data-alert="{alert_id}"]').inner_text()
            await screenshot(page, "console-board-acknowledged.png")

            await page.goto(f"{base}/households/hh-0001")  # inactive since 07:00 on the first day: no use, one alert
            assert await page.locator("#history li .severity-critical").count() == 1
            await page.goto(f"{base}/households/hh-0002")  # lives normally
            await screenshot(page, "console-household.png")
            assert await page.locator("#usage .chart-gas svg rect").count() > 0
            assert await page.locator("#usage .chart-water svg rect").count() > 0
            assert "仍在学习" in await page.locator("#learned").inner_text()  # a day and a half: the warm-up goes on
    alert = await system.pipeline.alert_store.get(alert_id)
    assert (alert.acknowledged_by, alert.outcome) == ("张三", "safe")
