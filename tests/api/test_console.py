"""The duty console: what an officer sees, in Chinese by default, and the acknowledge and resolve forms."""

from __future__ import annotations

import httpx
import pytest

from alerts.lifecycle import AlertStatus, AuditAction
from api import labels
from carewatch.domain import AlertType, Severity


def section(page: str, name: str) -> str:
    """The HTML of one <section id=...> of the console."""
    start = page.index(f'<section id="{name}">')
    return page[start : page.index("</section>", start)]


async def test_console_speaks_chinese_by_default(client: httpx.AsyncClient, store, make_detection):
    raised = make_detection()
    await store.apply([raised])

    response = await client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="zh-CN">' in page
    assert '<meta charset="utf-8">' in page
    care = section(page, "care")
    assert raised.alert_id in care
    assert "张桂兰" in care and "幸福路12号3单元401" in care
    assert "24小时未用燃气" in care
    assert "紧急" in care and "待处理" in care
    assert raised.explanation.zh in care and raised.explanation.en not in care
    # 07:30 UTC onset, raised 24 h later: Shanghai local time.
    assert "2025-03-01 15:30" in care and "2025-03-02 15:30" in care
    assert ">确认</button>" in care and ">解决</button>" in care
    assert "中文" in page and "English" in page


async def test_english_is_chosen_with_lang_and_remembered(client: httpx.AsyncClient, store, make_detection):
    raised = make_detection()
    await store.apply([raised])

    english = (await client.get("/?lang=en")).text
    remembered = (await client.get("/")).text
    back_to_chinese = (await client.get("/?lang=zh")).text

    for page in (english, remembered):
        assert '<html lang="en">' in page
        assert "No gas used in 24 hours" in page
        assert raised.explanation.en in page and raised.explanation.zh not in page
        assert ">Acknowledge</button>" in page
    assert "24小时未用燃气" in back_to_chinese


async def test_device_alerts_are_listed_apart_from_care_alerts(client: httpx.AsyncClient, store, make_detection):
    inactivity = make_detection()
    silent = make_detection(alert_type=AlertType.METER_SILENT, severity=Severity.WARNING)
    await store.apply([inactivity, silent])

    page = (await client.get("/")).text

    assert inactivity.alert_id in section(page, "care") and silent.alert_id not in section(page, "care")
    assert silent.alert_id in section(page, "technician") and "表具未上报数据" in section(page, "technician")


async def test_household_outside_the_registry_is_shown_by_id_in_china_time(client, store, make_detection):
    stray = make_detection("hh-unregistered")
    await store.apply([stray])
    care = section((await client.get("/")).text, "care")
    assert "hh-unregistered" in care and "2025-03-01 15:30" in care


async def test_household_time_zone_from_the_registry_is_used(client, store, make_detection):
    await store.apply([make_detection("hh-002")])
    assert "2025-03-01 07:30" in section((await client.get("/")).text, "care")  # London is UTC+0 in March


async def test_everything_shown_is_escaped(client, store, make_detection):
    await store.apply([make_detection("hh-002")])
    page = (await client.get("/")).text
    assert "<script>alert('x')</script>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


async def test_acknowledge_form_marks_the_alert_and_remembers_the_officer(client, store, make_detection):
    raised = make_detection()
    await store.apply([raised])

    response = await client.post(
        f"/console/alerts/{raised.alert_id}/acknowledge", data={"actor": "张三", "note": "已电话联系女儿"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    care = section((await client.get("/")).text, "care")
    assert raised.alert_id in care
    assert "已确认" in care and "确认人: 张三" in care
    assert ">确认</button>" not in care  # nothing left to acknowledge; resolving still possible
    assert ">解决</button>" in care
    assert 'name="actor" value="张三"' in care
    event = (await store.history(raised.alert_id))[-1]
    assert (event.action, event.actor, event.note) == (AuditAction.ACKNOWLEDGED, "张三", "已电话联系女儿")


async def test_resolve_form_takes_the_alert_off_the_console(client, store, make_detection):
    raised = make_detection()
    await store.apply([raised])

    response = await client.post(f"/console/alerts/{raised.alert_id}/resolve", data={"actor": "张三", "note": "老人已外出"})

    assert response.status_code == 303
    assert raised.alert_id not in (await client.get("/")).text
    alert = await store.get(raised.alert_id)
    assert (alert.status, alert.resolved_by, alert.events[-1].note) == (AlertStatus.RESOLVED, "张三", "老人已外出")


@pytest.mark.parametrize(
    ("prepare", "form", "status", "notice"),
    [
        (None, {"actor": "  ", "note": "x"}, 422, "请填写值班人员姓名"),
        ("resolve", {"actor": "张三"}, 409, "该警报当前状态为“已解决”"),
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


async def test_unknown_alert_form_is_404_on_the_console(client):
    response = await client.post("/console/alerts/hh-9.no_gas_24h.x/resolve", data={"actor": "张三"})
    assert response.status_code == 404
    assert "找不到该警报" in response.text


async def test_live_status_from_the_runner_is_shown(client, live_status):
    live_status["event_time"] = "2025-03-02T08:00:00+00:00"
    page = (await client.get("/")).text
    assert "event_time" in page and "2025-03-02T08:00:00+00:00" in page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_type_severity_and_status_has_words(lang):
    assert set(labels.ALERT_TYPE[lang]) == set(AlertType)
    assert set(labels.SEVERITY[lang]) == set(Severity)
    assert set(labels.STATUS[lang]) == set(AlertStatus)
    assert labels.UI[lang].keys() == labels.UI["zh"].keys()
