"""Site silences in a real browser (Debian chromium driven by Playwright), in Chinese and in English: a supervisor
silences a community for a gas cut, the safety type is refused until explicitly included, the board shows the
banner and lists the silenced alert apart, and the silence is ended early. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.store import AlertStore
from api.app import create_app
from api.auth import create_user
from api.directory_import import import_document
from api.models import Role
from carewatch.domain import AlertType
from carewatch.registry import Registry
from carewatch.settings import Settings
from tests.api.conftest import DISTRICT, detection
from tests.api.live import served
from tests.console.conftest import PASSWORD, screenshot, signed_in

pytestmark = pytest.mark.service



async def test_a_supervisor_silences_a_gas_cut_and_the_board_lists_its_alerts_apart(sessions, browser):
    store = AlertStore(sessions)
    async with sessions.begin() as session:
        await import_document(session, DISTRICT)
        await create_user(session, "chen.zhuren", PASSWORD, Role.SUPERVISOR, ("north",), display_name="陈主任")
    app = create_app(sessions=sessions, registry=Registry([]), settings=Settings(_env_file=None))  # type: ignore[call-arg]

    async with served(app) as base:
        page = await signed_in(browser, f"{base}/?lang=zh-CN", "chen.zhuren", viewport={"width": 1024, "height": 900})
        await page.wait_for_selector("#board")

        await page.click("nav a[href='/silences']")  # one community: straight to its page
        await page.wait_for_selector("#new-silence")
        assert page.url.endswith("/sites/north/silences")
        form = page.locator("form.silence-form")
        await form.locator("input[name=alert_types][value=no_gas_24h]").check()
        await form.locator("input[name=alert_types][value=gas_continuous]").check()
        await form.locator("textarea[name=reason]").fill("东区燃气管道维修，全片停气")
        await form.locator("button.primary").click()
        notice = page.locator("p.notice")
        await notice.wait_for()
        assert "同时静默安全警报" in await notice.inner_text()  # gas left on is never silenced by accident
        await screenshot(page, "silences-safety-refused-zh.png")

        form = page.locator("form.silence-form")  # what was typed is kept: take out the safety type and save
        assert await form.locator("input[name=alert_types][value=no_gas_24h]").is_checked()
        assert await form.locator("textarea[name=reason]").input_value() == "东区燃气管道维修，全片停气"
        await form.locator("input[name=alert_types][value=gas_continuous]").uncheck()
        await form.locator("button.primary").click()
        row = page.locator("table.silences tr.silence")
        await row.first.wait_for()
        assert "东区燃气管道维修，全片停气" in await row.first.inner_text() and "生效中" in await row.first.inner_text()
        await screenshot(page, "silences-page-zh.png")

        now = datetime.now(UTC)
        gas_cut = detection("hh-001", at=now)
        gas_on = detection("hh-002", AlertType.GAS_CONTINUOUS, at=now)
        await store.apply([gas_cut, gas_on])
        await page.click("nav a[href='/']")
        await page.locator(f'#silenced li[data-alert="{gas_cut.alert_id}"]').wait_for()
        banner = await page.locator("#silences .silence-banner").inner_text()
        assert "静默中" in banner and "东区燃气管道维修" in banner
        assert await page.locator(f'#open li[data-alert="{gas_on.alert_id}"]').count() == 1  # the safety alert still calls for help
        assert await page.locator(f'#open li[data-alert="{gas_cut.alert_id}"]').count() == 0
        await screenshot(page, "silences-board-zh.png")

        await page.goto(f"{base}/sites/north/silences?lang=en")
        assert "In force" in await page.locator("table.silences").inner_text()
        await screenshot(page, "silences-page-en.png")
        await page.goto(f"{base}/?lang=en")
        assert "Silenced" in await page.locator("#silences").inner_text()
        assert "nobody notified" in await page.locator("#silenced h2").inner_text()
        await screenshot(page, "silences-board-en.png")

        await page.goto(f"{base}/sites/north/silences?lang=en")
        await page.locator("form.end-silence button").click()
        await page.wait_for_selector("table.silences")
        assert "Ended early by 陈主任" in await page.locator("table.silences").inner_text()
        assert await page.locator("form.end-silence").count() == 0
        await screenshot(page, "silences-ended-en.png")
        await page.goto(f"{base}/?lang=en")
        assert await page.locator("#silences").count() == 0  # no banner once it has ended
