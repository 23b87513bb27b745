"""Issue 15 in a real browser (Debian chromium driven by Playwright): the numbers to call on the card,
the decision that stays on it, the alert history with its filters, its page per alert and its exports,
in Chinese and in English. Screenshots are kept in test-artifacts/ for a person to look at."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from alerts.store import AlertStore
from api.app import create_app
from api.auth import create_user
from api.directory_import import import_document
from api.models import Role
from carewatch.directory import Contact, Site
from carewatch.domain import AlertType
from carewatch.registry import Registry
from carewatch.settings import Settings
from tests.api.conftest import DISTRICT, detection
from tests.api.live import served
from tests.console.conftest import PASSWORD, screenshot, signed_in

pytestmark = pytest.mark.service

DAUGHTER = {"id": "daughter", "name": "王芳", "relation": "女儿", "channels": [{"kind": "sms", "address": "+8613800000001"}]}


async def test_an_officer_calls_from_the_card_decides_and_finds_the_decision_in_the_history(sessions, tmp_path, browser):
    store = AlertStore(sessions)
    async with sessions.begin() as session:
        await import_document(session, DISTRICT)
        await create_user(session, "zhang.san", PASSWORD, Role.DUTY, ("north",), display_name="张三")
    async with sessions.begin() as session:
        (await session.get(Site, "north")).phone = "0532-8000 1234"
        session.add(Contact(household_id="hh-001", **DAUGHTER))
    gas = detection("hh-001")
    await store.apply([gas, detection("hh-001", AlertType.GAS_CONTINUOUS), detection("hh-003")])
    app = create_app(sessions=sessions, registry=Registry([]), settings=Settings(_env_file=None))  # type: ignore[call-arg]

    async with served(app) as base:
        page = await signed_in(browser, f"{base}/", "zhang.san", accept_downloads=True)
        card = page.locator(f'#open li[data-alert="{gas.alert_id}"]')
        await card.wait_for()
        tels = await card.locator("ul.calls a.tel").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert tels == ["tel:+8653288880001", "tel:+8613800000001", "tel:053280001234"]
        assert "社区电话 · 北苑社区" in await card.locator("ul.calls").inner_text()
        await screenshot(page, "issue15-board-numbers-zh.png")

        await card.locator("summary.acknowledge").click()
        await card.locator("input[name=outcome][value=safe]").check()
        await card.locator("textarea[name=note]").first.fill("女儿已上门，老人在睡午觉")
        await card.locator("button.primary").click()
        in_hand = page.locator(f'#in-hand li[data-alert="{gas.alert_id}"]')
        await in_hand.wait_for()
        decision = await in_hand.locator(".decision").inner_text()
        assert "确认 · 张三" in decision and "平安" in decision and "女儿已上门，老人在睡午觉" in decision
        await screenshot(page, "issue15-board-decision-zh.png")

        await page.click("nav a[href='/history']")
        await page.select_option("select[name=outcome]", "safe")
        await page.click("#filters button.primary")
        rows = page.locator("#history tbody tr")
        assert await rows.count() == 1 and "平安" in await rows.first.inner_text()
        assert "hh-003" not in await page.content()  # another community's alert is never listed
        await screenshot(page, "issue15-history-zh.png")

        async with page.expect_download() as csv_download:
            await page.click("#export-csv")
        text = Path(await (await csv_download.value).path()).read_text(encoding="utf-8-sig")
        table = list(csv.reader(io.StringIO(text)))
        assert table[0][0] == "警报编号" and [r[0] for r in table[1:]] == [gas.alert_id]
        async with page.expect_download() as xlsx_download:
            await page.click("#export-xlsx")
        downloaded = await xlsx_download.value
        assert downloaded.suggested_filename.endswith(".xlsx")
        sheet = load_workbook(io.BytesIO(Path(await downloaded.path()).read_bytes()), read_only=True).active
        cells = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert cells[1][0] == gas.alert_id and cells[1][8] == "平安"

        await rows.first.locator(f'a[href="/alerts/{gas.alert_id}"]').click()
        await page.wait_for_selector("#audit")
        assert "女儿已上门，老人在睡午觉" in await page.locator("#card").inner_text()
        await screenshot(page, "issue15-alert-page-zh.png")

        await page.goto(f"{base}/history?lang=en")
        assert await page.locator("#history tbody tr").count() == 2
        assert "2 alerts" in await page.locator("#total").inner_text()
        assert "Outcome" in await page.locator("#history thead").inner_text()
        await screenshot(page, "issue15-history-en.png")
        await page.goto(f"{base}/alerts/{gas.alert_id}")
        assert "Acknowledged · 张三" in await page.locator("#card .decision").inner_text()
        assert "Community line" in await page.locator("#card ul.calls").inner_text()
        await screenshot(page, "issue15-alert-page-en.png")


async def test_an_officer_acknowledges_several_alerts_at_once_and_hands_the_shift_over(sessions, browser):
    store = AlertStore(sessions)
    async with sessions.begin() as session:
        await import_document(session, DISTRICT)
        await create_user(session, "zhang.san", PASSWORD, Role.DUTY, ("north",), display_name="张三")
        await create_user(session, "li.si", PASSWORD, Role.DUTY, ("north",), display_name="李四")
    gas, flowing, london = detection("hh-001"), detection("hh-001", AlertType.GAS_CONTINUOUS), detection("hh-002")
    await store.apply([gas, flowing, london])
    app = create_app(sessions=sessions, registry=Registry([]), settings=Settings(_env_file=None))  # type: ignore[call-arg]

    async with served(app) as base:
        outgoing = await signed_in(browser, f"{base}/", "zhang.san")
        for alert in (gas, flowing):
            await outgoing.check(f'#open li[data-alert="{alert.alert_id}"] input[name=alert_id]')
        await outgoing.click("summary.bulk-acknowledge")
        await outgoing.check("#bulk-acknowledge input[name=outcome][value='false_alarm:away']")
        await outgoing.fill("#bulk-acknowledge textarea[name=note]", "燃气公司上门检修，老人去女儿家住两天")
        await screenshot(outgoing, "issue15-bulk-acknowledge-zh.png")
        await outgoing.click("#bulk-acknowledge button.primary")
        await outgoing.wait_for_selector(f'#in-hand li[data-alert="{flowing.alert_id}"]')
        assert await outgoing.locator("#in-hand li.alert").count() == 2
        assert await outgoing.locator(f'#open li[data-alert="{london.alert_id}"]').count() == 1
        for alert in (gas, flowing):
            assert [e.note for e in await store.history(alert.alert_id) if e.action == "acknowledged"] == ["燃气公司上门检修，老人去女儿家住两天"]

        await outgoing.click("nav a[href='/handoff']")
        assert await outgoing.locator("#acknowledged li.alert").count() == 2
        assert await outgoing.locator("#still_open li.alert").count() == 1
        await outgoing.fill("#write-handoff textarea[name=note]", "hh-002 仍未联系上，请早班继续打电话。")
        await outgoing.click("#write-handoff button.primary")
        await outgoing.wait_for_selector(".handoff-note")
        await screenshot(outgoing, "issue15-handoff-zh.png")

        incoming = await signed_in(browser, f"{base}/?lang=en", "li.si", locale="en-GB")
        banner = incoming.locator("#latest-handoff")
        await banner.wait_for()
        assert "Latest handoff note" in await banner.inner_text() and "请早班继续打电话" in await banner.inner_text()
        await screenshot(incoming, "issue15-board-handoff-banner-en.png")
        await incoming.click("#latest-handoff a")
        assert "Still open" in await incoming.locator("#still_open h3").inner_text()
        # The shift the note covers: the two alerts acknowledged in it, with their outcome and note.
        assert await incoming.locator("#acknowledged li.alert").count() == 2
        assert "false alarm (away)" in await incoming.locator("#acknowledged").inner_text()
        await screenshot(incoming, "issue15-handoff-en.png")
