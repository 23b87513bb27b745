"""The duty rota in a real browser (Debian chromium driven by Playwright), in Chinese and in English: a supervisor
adds today's shift, the board names who is on duty, an override for sick leave puts the replacement on duty,
and both are removed again. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from api.app import create_app
from api.auth import create_user
from api.directory_import import import_document
from api.models import Role
from carewatch.registry import Registry
from carewatch.settings import Settings
from tests.api.conftest import DISTRICT
from tests.api.live import served
from tests.api.test_rota_api import team
from tests.console.conftest import PASSWORD, screenshot, signed_in

pytestmark = pytest.mark.service



async def test_a_supervisor_edits_the_rota_and_the_board_names_who_is_on_duty(sessions, tmp_path, browser):
    people = tmp_path / "people.json"
    people.write_text(json.dumps({"version": 1, "sites": [team("north", "n"), team("south", "s")], "households": []}), encoding="utf-8")
    async with sessions.begin() as session:
        await import_document(session, DISTRICT)
        await create_user(session, "chen.zhuren", PASSWORD, Role.SUPERVISOR, ("north",), display_name="陈主任")
    app = create_app(sessions=sessions, registry=Registry([]), settings=Settings(_env_file=None, people_path=people))  # type: ignore[call-arg]
    today = datetime.now(ZoneInfo("Asia/Shanghai"))

    async with served(app) as base:
        page = await signed_in(browser, f"{base}/?lang=zh-CN", "chen.zhuren", viewport={"width": 1024, "height": 900})
        assert "n李明" in await page.locator("#on-duty").inner_text()  # the people file's rota until one is edited here

        await page.click("nav a[href='/rota']")
        form = page.locator("form.add-shift")
        await form.wait_for()
        await form.locator("select[name=weekday]").select_option(str(today.weekday()))
        await form.locator("input[name=start]").fill("00:00")
        await form.locator("input[name=end]").fill("00:00")
        await form.locator("select[name=staff_id]").select_option("n-wang")
        await form.locator("button.primary").click()
        await page.locator("table.rota tbody tr").first.wait_for()
        assert "n王强" in await page.locator("#on-duty-now").inner_text()
        await screenshot(page, "rota-page-zh.png")

        override = page.locator("form.add-override")
        await override.locator("select[name=absent_id]").select_option("n-wang")
        await override.locator("select[name=replacement_id]").select_option("n-wang")
        await override.locator("button.primary").click()
        assert "替班人员须是另一位值班人员" in await page.locator("p.notice").inner_text()
        override = page.locator("form.add-override")
        await override.locator("select[name=absent_id]").select_option("n-wang")
        await override.locator("select[name=replacement_id]").select_option("n-li")
        await override.locator("input[name=reason]").fill("病假")
        await override.locator("button.primary").click()
        await page.locator("table.rota-overrides tbody tr").first.wait_for()
        assert "n李明" in await page.locator("#on-duty-now").inner_text()
        await screenshot(page, "rota-override-zh.png")

        await page.click("nav a[href='/']")
        assert "n李明" in await page.locator("#on-duty").inner_text()
        await screenshot(page, "rota-board-zh.png")

        await page.goto(f"{base}/sites/north/rota?lang=en")
        assert "On duty now" in await page.locator("#on-duty-now").inner_text()
        assert "Instead of" in await page.locator("table.rota-overrides").inner_text()
        await screenshot(page, "rota-page-en.png")
        await page.locator("form.delete-override button").click()
        await page.wait_for_selector("form.add-override")
        assert await page.locator("table.rota-overrides").count() == 0
        assert "n王强" in await page.locator("#on-duty-now").inner_text()
        await page.locator("form.delete-shift button").click()
        await page.wait_for_selector("form.add-shift")
        assert "people file" in await page.locator("main .hint").first.inner_text()
        await screenshot(page, "rota-removed-en.png")
        await page.goto(f"{base}/?lang=en")
        assert "On duty now" in await page.locator("#on-duty").inner_text()
        await screenshot(page, "rota-board-en.png")
