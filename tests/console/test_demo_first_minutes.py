"""The README's "first five minutes" in a real browser (Debian chromium driven by Playwright), on the console demo:
sign in with the account the demo prints, watch the first alert arrive, see whom to call, acknowledge it with an
outcome, open the shift handoff. Small figures (five households, ten simulated hours a second until the alert is
near) so it takes well under a minute; screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re

import pytest
from rich.console import Console

from carewatch.cli.demo import DemoOptions, run_demo
from carewatch.loopback import free_port
from carewatch.settings import Settings
from tests.console.conftest import screenshot, signed_in
from tests.test_demo_one_time import ACCOUNT, _said

pytestmark = pytest.mark.service  # the whole console demo


async def test_a_newcomer_signs_in_watches_the_first_alert_arrive_acknowledges_it_and_reads_the_handoff(browser):
    port = free_port()
    out = io.StringIO()
    settings = Settings(_env_file=None, http_port=port)  # type: ignore[call-arg]
    options = DemoOptions(households=5, days=1.5, seed=4, speed=36_000.0, pace=5.0, approach_s=5.0)
    demo = asyncio.create_task(run_demo(settings, options, Console(file=out, width=500)))
    try:
        username, password = (await _said(out, ACCOUNT, demo)).groups()
        page = await signed_in(browser, f"http://127.0.0.1:{port}/", username, password,
                               viewport={"width": 1024, "height": 900})
        try:
            await page.wait_for_selector("#connection.up")

            row = page.locator("li.alert[data-status=open]").first  # it arrives on the board by itself
            await row.wait_for(timeout=90_000)
            await asyncio.sleep(3)  # a few simulated minutes go by while the newcomer reads the card
            await screenshot(page, "demo-first-alert.png")
            card = await row.inner_text()
            assert await row.locator("a.tel").count() >= 1, card  # numbers to call, as tel: links
            since = await row.locator("time.since").inner_text()
            minutes = int(re.search(r"\d+", since).group(0))  # type: ignore[union-attr]
            assert minutes < 60, since  # counted in simulated time from the alert, not months since January
            raised = re.search(r"(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}", card)
            assert raised and raised.group(1).startswith("2026-01"), card
            assert "已提醒" not in card, card  # no reminder has gone out before the newcomer could act

            alert_id = await row.get_attribute("data-alert")
            await row.locator("summary.acknowledge").click()
            await row.locator("input[name=outcome][value=safe]").check()
            await row.locator("textarea[name=note]").first.fill("已电话联系老人，一切正常")
            await row.locator("button.primary").click()
            handled = page.locator(f'li.alert[data-alert="{alert_id}"][data-status=acknowledged]')
            await handled.wait_for(timeout=15_000)
            decision = await handled.locator(".decision").first.inner_text()
            assert "演示值班员" in decision and "2026-01" in decision, decision  # who, and when in simulated time

            await page.goto(f"http://127.0.0.1:{port}/handoff")
            assert alert_id and alert_id in await page.content()
            await screenshot(page, "demo-handoff.png")
        finally:
            await page.close()
    finally:
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo
