"""Issue 15: the number to call is on the card, decisions stay visible, past alerts can be found and exported."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import httpx
import pytest
from openpyxl import load_workbook

from alerts.outcomes import FalseAlarmReason, Outcome, OutcomeKind
from api.models import Role
from api.routes import alert_pages
from carewatch.directory import Contact
from carewatch.domain import AlertType
from tests.api.conftest import ONSET, section

FAMILY = [
    {"id": "a-daughter", "name": "王芳", "relation": "女儿", "channels": [{"kind": "sms", "address": "+8613800000001"}]},
    {"id": "b-son", "name": "Wang Lei", "relation": "son", "language": "en", "channels": [{"kind": "email", "address": "lei@example.com"}]},
    {"id": "c-niece", "name": "王静", "relation": "侄女", "channels": [{"kind": "voice", "address": "+8613800000003"}]},
    {"id": "d-nephew", "name": "王强", "relation": "外甥", "channels": [{"kind": "sms", "address": "+8613800000004"}]},
]


@pytest.fixture
async def numbers(client: httpx.AsyncClient, sessions) -> None:  # type: ignore[no-untyped-def]
    """hh-001 has a phone of its own, four family contacts (one with email only), its community a duty line."""
    assert (await client.patch("/api/sites/north", json={"phone": "0532-8000 1234"})).json()["phone"] == "0532-8000 1234"
    async with sessions.begin() as session:
        session.add_all(Contact(household_id="hh-001", **entry) for entry in FAMILY)


def visible_text(html: str) -> str:
    """What a reader sees: no tags, no attribute values."""
    return re.sub(r"<[^>]+>", " ", html)


async def test_the_card_carries_the_numbers_to_call_as_tel_links(client, store, make_detection, numbers):
    raised = make_detection("hh-001")
    await store.apply([raised])

    for lang, elder, community in (("zh-CN", "老人本人", "社区电话 · 北苑社区"), ("en", "the elder", "Community line · 北苑社区")):
        card = section((await client.get(f"/?lang={lang}")).text, "open")
        calls = card[card.index('<ul class="calls"') : card.index("</ul>", card.index('<ul class="calls"'))]
        links = re.findall(r'href="(tel:[^"]+)">☎ ([^<]+)</a>', calls)
        # The elder, the first two family contacts with a number (by id, as the ladder orders them), the community line.
        assert links == [("tel:+8653288880001", "+86 532 8888 0001"), ("tel:+8613800000001", "+8613800000001"),
                         ("tel:+8613800000003", "+8613800000003"), ("tel:0532-80001234".replace("-", ""), "0532-8000 1234")]
        assert elder in calls and "王芳 (女儿)" in calls and "王静 (侄女)" in calls and community in calls
        assert "王强" not in calls  # the fourth: on the household page, not the card


async def test_a_household_without_numbers_says_so_on_the_card(client, store, make_detection):
    await store.apply([make_detection("hh-003")])
    card = section((await client.get("/?lang=en")).text, "open")
    assert "No phone number on file" in card and 'href="tel:' not in card


async def test_an_acknowledged_card_keeps_outcome_note_who_and_when_in_both_languages(make_client, store, make_detection):
    raised = make_detection("hh-001")
    await store.apply([raised])
    officer = await make_client(Role.DUTY, ("north",))
    await officer.post(f"/console/alerts/{raised.alert_id}/acknowledge", data={"outcome": "safe", "note": "女儿已上门，老人在睡觉"})
    acknowledged_at = (await store.get(raised.alert_id)).acknowledged_at
    local = (acknowledged_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")  # Shanghai

    zh = section((await officer.get("/?lang=zh-CN")).text, "in-hand")
    assert f"<strong>确认</strong> · duty 1 · {local}" in zh
    assert '处理结果: <strong class="outcome">平安</strong>' in zh and "备注: 女儿已上门，老人在睡觉" in zh
    en = section((await officer.get("/?lang=en")).text, "in-hand")
    assert f"<strong>Acknowledged</strong> · duty 1 · {local}" in en and '<strong class="outcome">safe</strong>' in en
    assert "acknowledged" not in visible_text(zh) and "safe" not in visible_text(zh)  # no raw codes in Chinese


async def test_the_alert_page_shows_a_resolved_alert_with_its_decisions_numbers_and_audit(client, store, make_detection, numbers):
    raised = make_detection("hh-001")
    await store.apply([raised])
    await store.acknowledge(raised.alert_id, "张三", "电话没人接，已请邻居查看", Outcome(OutcomeKind.UNREACHABLE))
    await store.resolve(raised.alert_id, "李四", "邻居说老人去女儿家了", Outcome(OutcomeKind.FALSE_ALARM, FalseAlarmReason.AWAY))

    page = (await client.get(f"/alerts/{raised.alert_id}?lang=zh-CN")).text
    card = section(page, "card")
    assert "已解决" in card and ">解决</summary>" not in card and ">确认</summary>" not in card  # nothing left to do
    assert "<strong>确认</strong> · 张三" in card and "暂时联系不上" in card and "电话没人接，已请邻居查看" in card
    assert "<strong>解决</strong> · 李四" in card and "误报（外出）" in card and "邻居说老人去女儿家了" in card
    assert 'href="tel:+8653288880001"' in card and 'href="tel:053280001234"' in card
    audit = section(page, "audit")
    assert "系统检测" in audit and "李四" in audit
    en = (await client.get(f"/alerts/{raised.alert_id}?lang=en")).text
    assert "false alarm (away)" in en and "Resolved" in en


async def _three_alerts(store, make_detection):  # type: ignore[no-untyped-def]
    """hh-001: no gas (acknowledged safe, a note), gas flowing (resolved, false alarm 'other'); hh-003: open."""
    first = make_detection("hh-001")
    second = make_detection("hh-001", AlertType.GAS_CONTINUOUS, onset=ONSET + timedelta(days=3))
    south = make_detection("hh-003", onset=ONSET + timedelta(days=1))
    await store.apply([first, second, south])
    await store.acknowledge(first.alert_id, "张三", "女儿说老人在睡午觉", Outcome(OutcomeKind.SAFE))
    await store.resolve(second.alert_id, "李四", "", Outcome(OutcomeKind.FALSE_ALARM, FalseAlarmReason.OTHER, "燃气表换新"))
    return first, second, south


async def test_history_filters_by_outcome_type_site_dates_household_and_words_in_notes(client, store, make_detection):
    first, second, south = await _three_alerts(store, make_detection)

    async def found(**query: str) -> list[str]:
        page = (await client.get("/history", params=query)).text
        return re.findall(r'<tr id="history-([^"]+)"', page)

    assert await found() == [second.alert_id, south.alert_id, first.alert_id]  # newest first
    assert await found(outcome="safe") == [first.alert_id]
    assert await found(alert_type="gas_continuous") == [second.alert_id]
    assert await found(site="south") == [south.alert_id]
    assert await found(household_id="hh-001") == [second.alert_id, first.alert_id]
    assert await found(status="open") == [south.alert_id]
    # Raised 24 h after onset: first 2025-03-02 15:30, south 03-03, second 03-05 (Shanghai).
    assert await found(since="2025-03-03", until="2025-03-03") == [south.alert_id]
    assert await found(since="2025-03-03") == [second.alert_id, south.alert_id]
    assert await found(until="2025-03-02") == [first.alert_id]
    assert await found(q="睡午觉") == [first.alert_id]
    assert await found(q="换新") == [second.alert_id]  # a false alarm's detail counts as a note
    assert await found(q="100%") == []  # LIKE's wildcards are searched for, not obeyed
    assert await found(q="detector") == []  # the system's own notes are not people's notes


async def test_history_page_in_both_languages_pages_through_and_links_exports_with_the_filters(client, store, make_detection, monkeypatch):
    first, second, south = await _three_alerts(store, make_detection)
    monkeypatch.setattr(alert_pages, "HISTORY_PAGE", 2)

    zh = (await client.get("/history?lang=zh-CN&household_id=hh-001&q=")).text
    assert "共2条警报" in zh and "第1页，共1页" in zh and "平安" in zh and "误报（其他）: 燃气表换新" in zh
    assert 'href="/history/export.csv?household_id=hh-001"' in zh and 'href="/history/export.xlsx?household_id=hh-001"' in zh
    shown = visible_text(zh)
    for code in ("safe", "false_alarm", "no_gas_24h", "gas_continuous", "acknowledged", "resolved"):
        assert code not in shown, code
    one = (await client.get("/history?lang=en")).text
    assert "3 alerts" in one and "Page 1 of 2" in one and 'rel="next" href="/history?page=2"' in one
    two = (await client.get("/history?lang=en&page=2")).text
    assert re.findall(r'<tr id="history-([^"]+)"', two) == [first.alert_id] and 'rel="prev"' in two


async def test_csv_and_xlsx_exports_hold_the_filtered_alerts_in_the_readers_language(client, store, make_detection):
    first, second, south = await _three_alerts(store, make_detection)

    response = await client.get("/history/export.csv?lang=zh-CN&site=north")
    assert response.headers["content-type"].startswith("text/csv") and "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())  # spreadsheet programs then read UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["警报编号", "报警时间", "社区", "住户编号"]
    assert [r[0] for r in rows[1:]] == [second.alert_id, first.alert_id]
    by_id = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_id[first.alert_id]["处理结果"] == "平安" and by_id[first.alert_id]["社区"] == "北苑社区"
    assert by_id[first.alert_id]["报警时间"] == "2025-03-02 15:30" and by_id[first.alert_id]["确认人及时间"].startswith("张三 ")
    assert "女儿说老人在睡午觉" in by_id[first.alert_id]["备注"]
    assert by_id[second.alert_id]["解决人及时间"].startswith("李四 ")

    response = await client.get("/history/export.xlsx?lang=en&outcome=safe")
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0][:3] == ["Alert ID", "Raised", "Community"]
    assert len(cells) == 2 and cells[1][0] == first.alert_id and cells[1][8] == "safe" and cells[1][5] == "No gas used in 24 hours"


async def test_a_note_that_looks_like_a_formula_is_exported_as_text(client, store, make_detection):
    raised = make_detection("hh-001")
    await store.apply([raised])
    await store.acknowledge(raised.alert_id, "=cmd|' /C calc'!A0", "", Outcome(OutcomeKind.SAFE))
    sheet = load_workbook(io.BytesIO((await client.get("/history/export.xlsx")).content), read_only=True).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[1][9].startswith("'=cmd")


async def test_the_history_api_gives_the_same_alerts_with_their_decisions(client, store, make_detection):
    first, second, south = await _three_alerts(store, make_detection)
    body = (await client.get("/api/alert-history", params={"outcome": "safe"})).json()
    assert body["total"] == 1 and body["next_offset"] is None
    [item] = body["items"]
    assert (item["alert_id"], item["site"], item["outcome"], item["acknowledged_by"]) == (first.alert_id, "north", "safe", "张三")
    assert [(d["action"], d["actor"], d["note"]) for d in item["decisions"]] == [("acknowledged", "张三", "女儿说老人在睡午觉")]
    paged = (await client.get("/api/alert-history", params={"limit": 2})).json()
    assert (paged["total"], paged["next_offset"], len(paged["items"])) == (3, 2, 2)
    assert (await client.get("/api/alert-history", params={"outcome": "fine"})).status_code == 422
    assert (await client.get("/api/alert-history", params={"since": "yesterday"})).status_code == 422


async def test_staff_of_one_site_never_see_anothers_history(make_client, store, make_detection):
    first, second, south = await _three_alerts(store, make_detection)
    north = await make_client(Role.DUTY, ("north",))

    for url in ("/history", "/history/export.csv", "/history/export.xlsx", "/api/alert-history"):
        assert (await north.get(url, params={"site": "south"})).status_code == 404, url
        assert (await north.get(url, params={"household_id": "hh-003"})).status_code == 404, url
    assert south.alert_id not in (await north.get("/history")).text
    assert south.alert_id not in (await north.get("/history/export.csv")).text
    assert [i["alert_id"] for i in (await north.get("/api/alert-history")).json()["items"]] == [second.alert_id, first.alert_id]
    assert (await north.get(f"/alerts/{south.alert_id}")).status_code == 404


async def test_bulk_acknowledgement_takes_the_selected_alerts_with_one_outcome_each_audited(make_client, store, make_detection):
    gas, flowing, other = make_detection("hh-001"), make_detection("hh-001", AlertType.GAS_CONTINUOUS), make_detection("hh-002")
    await store.apply([gas, flowing, other])
    officer = await make_client(Role.DUTY, ("north",))
    board = section((await officer.get("/")).text, "open")
    assert 'id="bulk-acknowledge"' in board and board.count('form="bulk-acknowledge"') == 3

    response = await officer.post("/console/alerts/acknowledge", data={
        "alert_id": [gas.alert_id, flowing.alert_id], "outcome": "false_alarm:away", "note": "全楼停气检修，老人外出"})

    assert response.status_code == 303
    for taken in (gas, flowing):
        alert = await store.get(taken.alert_id)
        assert (alert.status, alert.outcome, alert.outcome_reason, alert.acknowledged_by) == ("acknowledged", "false_alarm", "away", "duty 1")
        [event] = [e for e in await store.history(taken.alert_id) if e.action == "acknowledged"]
        assert (event.actor, event.note) == ("duty 1", "全楼停气检修，老人外出")
    assert (await store.get(other.alert_id)).status == "open"


async def test_bulk_acknowledgement_refuses_another_sites_alert_and_leaves_taken_ones_alone(make_client, store, make_detection):
    mine, theirs = make_detection("hh-001"), make_detection("hh-003")
    await store.apply([mine, theirs])
    officer = await make_client(Role.DUTY, ("north",))

    refused = await officer.post("/console/alerts/acknowledge", data={"alert_id": [mine.alert_id, theirs.alert_id], "outcome": "safe"})
    assert refused.status_code == 404
    assert (await store.get(mine.alert_id)).status == "open" and (await store.get(theirs.alert_id)).status == "open"

    await store.acknowledge(mine.alert_id, "李四", "我已处理", Outcome(OutcomeKind.UNWELL))
    second = make_detection("hh-001", AlertType.GAS_CONTINUOUS)
    await store.apply([second])
    partly = await officer.post("/console/alerts/acknowledge?lang=en", data={"alert_id": [mine.alert_id, second.alert_id], "outcome": "safe"})
    assert partly.status_code == 409 and "1 acknowledged; 1 had been taken on by someone else" in partly.text
    assert (await store.get(mine.alert_id)).outcome == "unwell"  # the first decision stands
    assert (await store.get(second.alert_id)).outcome == "safe"
    nothing = await officer.post("/console/alerts/acknowledge", data={"outcome": "safe"})
    assert nothing.status_code == 422 and "Select the alerts to acknowledge first." in nothing.text  # English: remembered
