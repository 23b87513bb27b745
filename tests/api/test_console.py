"""The duty console: what an officer sees, in Chinese by default, and the acknowledge and resolve forms."""

from __future__ import annotations

import httpx
import pytest

from alerts.lifecycle import AlertStatus, AuditAction
from api.models import Role
from carewatch.domain import AlertType, Severity
from tests.api.conftest import section


async def test_console_speaks_chinese_by_default(client: httpx.AsyncClient, store, make_detection):
    raised = make_detection()
    await store.apply([raised])

    response = await client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="zh-CN">' in page
    assert '<meta charset="utf-8">' in page
    waiting = section(page, "open")
    assert raised.alert_id in waiting
    assert "张桂兰" in waiting and "幸福路12号3单元401" in waiting
    assert 'href="tel:+8653288880001">☎ +86 532 8888 0001' in waiting  # dialled without the spaces (RFC 3966)
    assert 'href="/households/hh-001"' in waiting
    assert "24小时未用燃气" in waiting
    assert "紧急" in waiting
    assert raised.explanation.zh in waiting and raised.explanation.en not in waiting
    # 07:30 UTC onset, raised 24 h later: Shanghai local time.
    assert "2025-03-01 15:30" in waiting and "2025-03-02 15:30" in waiting
    assert ">确认</summary>" in waiting and ">解决</summary>" in waiting
    assert "老人平安" in waiting and "误报：老人外出" in waiting  # the outcomes to choose from
    assert "中文" in page and "English" in page


async def test_english_is_chosen_with_lang_and_remembered(client: httpx.AsyncClient, store, make_detection):
    raised = make_detection()
    await store.apply([raised])

    english = (await client.get("/?lang=en")).text
    remembered = (await client.get("/")).text
    back_to_chinese = (await client.get("/?lang=zh-CN")).text
    from_an_old_link = (await client.get("/?lang=zh")).text  # links from before the one language code

    for page in (english, remembered):
        assert '<html lang="en">' in page
        assert "No gas used in 24 hours" in page
        assert raised.explanation.en in page and raised.explanation.zh not in page
        assert ">Acknowledge</summary>" in page
    assert "24小时未用燃气" in back_to_chinese and '<html lang="zh-CN">' in back_to_chinese
    assert "24小时未用燃气" in from_an_old_link


async def test_device_alerts_are_listed_apart_from_care_alerts(client: httpx.AsyncClient, store, make_detection):
    inactivity = make_detection()
    silent = make_detection(alert_type=AlertType.METER_SILENT, severity=Severity.WARNING)
    await store.apply([inactivity, silent])

    page = (await client.get("/")).text

    assert inactivity.alert_id in section(page, "open") and silent.alert_id not in section(page, "open")
    assert silent.alert_id in section(page, "technician") and "表具未上报数据" in section(page, "technician")


async def test_critical_alerts_come_first_then_the_newest(client, store, make_detection):
    from datetime import timedelta

    old = make_detection("hh-001")
    newer = make_detection("hh-002", at=old.at + timedelta(hours=3))
    warning = make_detection("hh-001", AlertType.GAS_CONTINUOUS, severity=Severity.WARNING, at=old.at + timedelta(hours=6))
    await store.apply([old, warning, newer])

    waiting = section((await client.get("/")).text, "open")

    positions = [waiting.index(d.alert_id) for d in (newer, old, warning)]
    assert positions == sorted(positions)


async def test_household_outside_the_directory_is_shown_by_id_in_china_time(client, store, make_detection):
    stray = make_detection("hh-unregistered")
    legacy = make_detection("hh-legacy")
    await store.apply([stray, legacy])
    waiting = section((await client.get("/")).text, "open")
    assert "hh-unregistered" in waiting and "2025-03-01 15:30" in waiting
    assert "王老伯" in waiting  # named by the runner's registry
    assert 'href="/households/hh-unregistered"' not in waiting


async def test_household_time_zone_from_the_directory_is_used(client, store, make_detection):
    await store.apply([make_detection("hh-002"), make_detection("hh-001")])
    board = section((await client.get("/")).text, "open")
    cards = {card[:6]: card for card in board.split('<li id="alert-')[1:]}
    london, home = cards["hh-002"], cards["hh-001"]
    assert "2025-03-01 07:30 UTC+0" in london  # London is UTC+0 in March: the offset says it is not China time
    assert "2025-03-01 15:30" in home and "UTC" not in home


async def test_everything_shown_is_escaped(client, store, make_detection):
    await store.apply([make_detection("hh-002")])
    page = (await client.get("/")).text
    assert "<script>alert('x')</script>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


async def test_acknowledge_form_with_an_outcome_moves_the_alert_in_hand_under_the_officers_name(make_client, store, make_detection):
    raised = make_detection()
    await store.apply([raised])
    officer = await make_client(Role.DUTY, ("north",))

    response = await officer.post(
        f"/console/alerts/{raised.alert_id}/acknowledge", data={"outcome": "false_alarm:away", "note": "已电话联系女儿，老人在女儿家"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    page = (await officer.get("/")).text
    assert raised.alert_id not in section(page, "open")
    in_hand = section(page, "in-hand")
    assert raised.alert_id in in_hand
    # The decision stays on the card: who, when (local time), the outcome in words and the note.
    decision = in_hand[in_hand.index('<p class="decision">'):]
    decision = decision[: decision.index("</p>")]
    assert "<strong>确认</strong> · duty 1 · 20" in decision
    assert '处理结果: <strong class="outcome">误报（外出）</strong>' in decision
    assert "备注: 已电话联系女儿，老人在女儿家" in decision
    assert "false_alarm" not in in_hand
    assert ">确认</summary>" not in in_hand  # nothing left to acknowledge; resolving still possible
    assert ">解决</summary>" in in_hand
    event = (await store.history(raised.alert_id))[-1]
    assert (event.action, event.actor, event.note) == (AuditAction.ACKNOWLEDGED, "duty 1", "已电话联系女儿，老人在女儿家")
    alert = await store.get(raised.alert_id)
    assert (alert.outcome, alert.outcome_reason) == ("false_alarm", "away")


async def test_resolve_form_takes_the_alert_off_the_console(client, store, make_detection):
    raised = make_detection()
    await store.apply([raised])

    response = await client.post(f"/console/alerts/{raised.alert_id}/resolve", data={"note": "老人已外出"})

    assert response.status_code == 303
    assert raised.alert_id not in (await client.get("/")).text
    alert = await store.get(raised.alert_id)
    assert (alert.status, alert.resolved_by, alert.events[-1].note) == (AlertStatus.RESOLVED, "admin 1", "老人已外出")


@pytest.mark.parametrize(
    ("prepare", "form", "status", "notice"),
    [
        (None, {"note": "x"}, 422, "请选择处理结果"),
        (None, {"outcome": "fine", "note": "x"}, 422, "请选择处理结果"),
        (None, {"outcome": "false_alarm:other", "note": " "}, 422, "请在备注中说明"),
        ("resolve", {"outcome": "safe"}, 409, "该警报当前状态为“已解决”"),
    ],
)
async def test_a_refused_form_says_why_on_the_console(client, store, make_detection, prepare, form, status, notice):
    raised = make_detection()
    await store.apply([raised])
    if prepare:
        await store.resolve(raised.alert_id, "李明", "")

    response = await client.post(f"/console/alerts/{raised.alert_id}/acknowledge", data=form)

    assert response.status_code == status
    assert notice in response.text
    assert (await store.get(raised.alert_id)).acknowledged_by is None


async def test_unknown_alert_form_is_404_on_the_console(client):
    response = await client.post("/console/alerts/hh-9.no_gas_24h.x/resolve", data={"note": ""})
    assert response.status_code == 404
    assert "找不到该警报" in response.text


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(client, store, make_detection):
    raised = make_detection()
    await store.apply([raised])
    token = client.headers.pop("X-CSRF-Token")

    forged = await client.post(f"/console/alerts/{raised.alert_id}/resolve", data={"note": "forged"})
    wrong = await client.post(f"/console/alerts/{raised.alert_id}/resolve", data={"note": "forged", "csrf_token": "x" * 43})
    genuine = await client.post(f"/console/alerts/{raised.alert_id}/resolve", data={"note": "ok", "csrf_token": token})

    assert (forged.status_code, wrong.status_code, genuine.status_code) == (403, 403, 303)
    assert [e.note for e in await store.history(raised.alert_id)][1:] == ["ok"]


async def test_live_status_from_the_runner_is_shown_in_the_consoles_language(client, live_status):
    live_status.update({"event_time": "2025-03-02T08:00:00+00:00", "readings": 12, "something_new": 1})
    chinese = (await client.get("/?lang=zh")).text
    assert '<dt>最新数据时间</dt><dd data-key="event_time">2025-03-02 16:00</dd>' in chinese  # local time, like every time shown
    assert "<dt>读数</dt>" in chinese and "<dt>something_new</dt>" in chinese  # a key without words is shown as it is
    assert "<dt>Newest data time</dt>" in (await client.get("/?lang=en")).text
