"""The JSON alert API: list and filter, read with audit trail, acknowledge and resolve."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import httpx

from alerts.store import AlertStore
from api.models import Role
from carewatch.directory import Contact, Site
from carewatch.domain import AlertType, Detection, Severity, Transition

MakeDetection = Callable[..., Detection]


async def seed(store: AlertStore, make_detection: MakeDetection) -> dict[str, Detection]:
    onset = make_detection().onset
    stored = {
        "old_critical": make_detection("hh-001", at=onset + timedelta(hours=24)),
        "new_critical": make_detection("hh-002", at=onset + timedelta(hours=30)),
        "warning": make_detection("hh-001", AlertType.GAS_CONTINUOUS, severity=Severity.WARNING, at=onset + timedelta(hours=40)),
        "silent": make_detection("hh-003", AlertType.METER_SILENT, severity=Severity.WARNING, at=onset + timedelta(hours=20)),
    }
    await store.apply(list(stored.values()))
    return stored


async def ids(client: httpx.AsyncClient, query: str = "") -> list[str]:
    response = await client.get(f"/api/alerts{query}")
    assert response.status_code == 200, response.text
    return [alert["id"] for alert in response.json()]


async def test_list_returns_most_severe_and_newest_first(client, store, make_detection):
    stored = await seed(store, make_detection)

    assert await ids(client) == [
        stored["new_critical"].alert_id,
        stored["old_critical"].alert_id,
        stored["warning"].alert_id,
        stored["silent"].alert_id,
    ]
    first = (await client.get("/api/alerts?limit=1")).json()[0]
    assert first["household_id"] == "hh-002"
    assert first["status"] == "open"
    assert first["audience"] == "care"
    assert first["explanation_zh"].startswith("自昨天15:30起")
    assert first["onset"].startswith("2025-03-01T07:30:00")


async def test_list_filters_by_every_field(client, store, make_detection):
    stored = await seed(store, make_detection)
    await store.acknowledge(stored["warning"].alert_id, "李明", "")

    assert set(await ids(client, "?household_id=hh-001")) == {stored["old_critical"].alert_id, stored["warning"].alert_id}
    assert await ids(client, "?status=acknowledged") == [stored["warning"].alert_id]
    assert len(await ids(client, "?status=open&status=acknowledged")) == 4
    assert await ids(client, "?alert_type=meter_silent") == [stored["silent"].alert_id]
    assert await ids(client, "?severity=warning&audience=care") == [stored["warning"].alert_id]
    assert await ids(client, "?audience=technician") == [stored["silent"].alert_id]
    assert await ids(client, "?limit=2&offset=3") == [stored["silent"].alert_id]


async def test_list_caps_the_page_and_refuses_nonsense(client):
    assert (await client.get("/api/alerts?limit=100000")).status_code == 200
    for query in ("?limit=0", "?offset=-1", "?status=closed", "?severity=urgent"):
        assert (await client.get(f"/api/alerts{query}")).status_code == 422, query


async def test_read_one_alert_with_its_audit_trail(client, store, make_detection):
    raised = make_detection()
    await store.apply([raised])

    response = await client.get(f"/api/alerts/{raised.alert_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == raised.alert_id
    assert [(e["action"], e["actor"], e["to_status"]) for e in body["events"]] == [("raised", "detector", "open")]


async def test_an_alert_says_in_event_time_when_the_detector_cleared_it(client, store, make_detection):
    raised = make_detection()
    cleared = dataclasses.replace(raised, transition=Transition.CLEARED, at=raised.at + timedelta(hours=2))
    await store.apply([raised, cleared])

    [listed] = (await client.get("/api/alerts")).json()
    one = (await client.get(f"/api/alerts/{raised.alert_id}")).json()

    assert listed["cleared_at"] == one["cleared_at"] == cleared.at.isoformat().replace("+00:00", "Z")
    assert listed["status"] == "auto_resolved"


async def test_unknown_alert_is_404_naming_the_id(client):
    for response in (
        await client.get("/api/alerts/hh-9.no_gas_24h.20250101T000000Z"),
        await client.post("/api/alerts/hh-9.no_gas_24h.20250101T000000Z/acknowledge", json={"outcome": "safe"}),
        await client.post("/api/alerts/hh-9.no_gas_24h.20250101T000000Z/resolve", json={}),
    ):
        assert response.status_code == 404
        assert "hh-9.no_gas_24h.20250101T000000Z" in response.json()["detail"]


async def test_acknowledge_then_resolve_records_who_and_why(make_client, store, make_detection):
    raised = make_detection()
    await store.apply([raised])
    url = f"/api/alerts/{raised.alert_id}"
    duty, supervisor = await make_client(Role.DUTY, ("north",)), await make_client(Role.SUPERVISOR, ("north",))

    acknowledged = await duty.post(f"{url}/acknowledge", json={"outcome": "unreachable", "note": "正在联系女儿"})
    resolved = await supervisor.post(f"{url}/resolve", json={"outcome": "safe", "note": "女儿已上门，老人安好"})

    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    assert acknowledged.json()["acknowledged_by"] == "duty 1"
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["resolved_by"], body["outcome"]) == ("resolved", "supervisor 2", "safe")
    assert [(e["action"], e["actor"], e["from_status"], e["note"]) for e in body["events"][1:]] == [
        ("acknowledged", "duty 1", "open", "正在联系女儿"),
        ("resolved", "supervisor 2", "acknowledged", "女儿已上门，老人安好"),
    ]
    assert all(e["at"] for e in body["events"])


async def test_illegal_transitions_are_409_naming_the_current_status(client, store, make_detection):
    raised = make_detection()
    await store.apply([raised])
    url = f"/api/alerts/{raised.alert_id}"
    await client.post(f"{url}/acknowledge", json={"outcome": "safe"})

    again = await client.post(f"{url}/acknowledge", json={"outcome": "safe"})
    assert again.status_code == 409
    assert "is acknowledged" in again.json()["detail"]

    await client.post(f"{url}/resolve", json={})
    for action, body in (("acknowledge", {"outcome": "safe"}), ("resolve", {})):
        refused = await client.post(f"{url}/{action}", json=body)
        assert refused.status_code == 409
        assert "is resolved" in refused.json()["detail"]


async def test_acknowledging_needs_a_known_outcome_and_says_which_field_is_wrong(client, store, make_detection):
    raised = make_detection()
    await store.apply([raised])
    for body, field in (({}, "outcome"), ({"outcome": "fine"}, "outcome"), ({"outcome": "safe", "note": "x" * 2001}, "note"),
                        ({"outcome": "safe", "actor": "someone else"}, "actor"),
                        ({"outcome": "false_alarm"}, "body"), ({"outcome": "safe", "reason": "away"}, "body")):
        response = await client.post(f"/api/alerts/{raised.alert_id}/acknowledge", json=body)
        assert response.status_code == 422, body
        assert [e["loc"][-1] for e in response.json()["detail"]] == [field], response.json()
    detail = (await client.post(f"/api/alerts/{raised.alert_id}/acknowledge", json={"outcome": "false_alarm"})).json()["detail"]
    assert "needs a reason" in detail[0]["msg"]
    assert (await store.get(raised.alert_id)).acknowledged_by is None


async def test_several_alerts_are_acknowledged_at_once_each_with_its_own_audit_entry(make_client, store, make_detection):
    gas, flowing, taken = make_detection("hh-001"), make_detection("hh-001", AlertType.GAS_CONTINUOUS), make_detection("hh-002")
    await store.apply([gas, flowing, taken])
    await store.acknowledge(taken.alert_id, "李明", "")
    duty = await make_client(Role.DUTY, ("north",))

    response = await duty.post("/api/alerts/acknowledge", json={
        "alert_ids": [gas.alert_id, flowing.alert_id, taken.alert_id, gas.alert_id], "outcome": "false_alarm", "reason": "away",
        "note": "燃气公司上门检修，老人去女儿家住两天"})

    assert response.status_code == 200, response.text
    assert response.json() == {"acknowledged": [gas.alert_id, flowing.alert_id], "skipped": [taken.alert_id]}
    for alert in (gas, flowing):
        entries = [e for e in await store.history(alert.alert_id) if e.action == "acknowledged"]
        assert [(e.actor, e.note, e.outcome, e.outcome_reason) for e in entries] == [
            ("duty 1", "燃气公司上门检修，老人去女儿家住两天", "false_alarm", "away")]
    assert (await store.get(taken.alert_id)).acknowledged_by == "李明"  # the first decision stands


async def test_a_bulk_acknowledgement_needs_alerts_and_an_outcome(client, store, make_detection):
    raised = make_detection()
    await store.apply([raised])
    for body, field in (({"alert_ids": [], "outcome": "safe"}, "alert_ids"), ({"alert_ids": [raised.alert_id]}, "outcome"),
                        ({"alert_ids": [raised.alert_id] * 501, "outcome": "safe"}, "alert_ids"),
                        ({"alert_ids": [raised.alert_id], "outcome": "false_alarm"}, "body")):
        response = await client.post("/api/alerts/acknowledge", json=body)
        assert response.status_code == 422, body
        assert [e["loc"][-1] for e in response.json()["detail"]] == [field], response.json()
    unknown = await client.post("/api/alerts/acknowledge", json={"alert_ids": [raised.alert_id, "hh-9.no_gas_24h.20250101T000000Z"], "outcome": "safe"})
    assert unknown.status_code == 404 and "hh-9.no_gas_24h.20250101T000000Z" in unknown.json()["detail"]
    assert (await store.get(raised.alert_id)).acknowledged_by is None  # none is taken when one is not yours


async def test_one_alert_carries_the_numbers_to_call_as_the_card_does(client, store, make_detection, sessions):
    async with sessions.begin() as session:
        (await session.get(Site, "north")).phone = "0532-8000 1234"
        session.add(Contact(household_id="hh-001", id="daughter", name="王芳", relation="女儿", channels=[{"kind": "sms", "address": "+8613800000001"}]))
        session.add(Contact(household_id="hh-001", id="son", name="王磊", relation="儿子", channels=[{"kind": "email", "address": "lei@example.org"}]))
    raised = make_detection("hh-001")
    await store.apply([raised])

    calls = (await client.get(f"/api/alerts/{raised.alert_id}")).json()["calls"]

    assert calls == [  # the son has no phone: left out, as on the card
        {"role": "elder", "name": "张桂兰", "relation": "", "number": "+86 532 8888 0001", "tel": "tel:+8653288880001"},
        {"role": "family", "name": "王芳", "relation": "女儿", "number": "+8613800000001", "tel": "tel:+8613800000001"},
        {"role": "community", "name": "北苑社区", "relation": "", "number": "0532-8000 1234", "tel": "tel:053280001234"},
    ]


async def test_healthz_checks_the_database(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
