"""Issue 15: the shift handoff: what happened since a time, and the outgoing officer's note the incoming one sees first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from alerts.models import Alert, AlertEvent
from alerts.outcomes import Outcome, OutcomeKind
from api.models import Role
from carewatch.domain import AlertType
from tests.api.conftest import ONSET, section


def alert_ids(html: str) -> list[str]:
    return re.findall(r'<li id="alert-([^"]+)"', html)


async def test_the_handoff_lists_what_happened_since_a_time_with_outcomes_and_notes(client, store, make_detection, sessions):
    old = make_detection("hh-001", AlertType.GAS_CONTINUOUS, onset=ONSET - timedelta(days=2))
    acknowledged = make_detection("hh-001")
    waiting = make_detection("hh-003")
    await store.apply([old, acknowledged, waiting])
    await store.acknowledge(acknowledged.alert_id, "张三", "女儿已上门", Outcome(OutcomeKind.SAFE))
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    async with sessions.begin() as session:  # the old alert was stored, and resolved, before the shift began
        await session.execute(update(Alert).where(Alert.id == old.alert_id).values(created_at=long_ago))
        await session.execute(update(AlertEvent).where(AlertEvent.alert_id == old.alert_id).values(at=long_ago))
    # An hour ago, as the form gives it: local time (China time when no community is chosen).
    since = (datetime.now(UTC) - timedelta(hours=1)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")

    page = (await client.get("/handoff", params={"since": since, "lang": "zh-CN"})).text

    assert sorted(alert_ids(section(page, "new"))) == sorted([acknowledged.alert_id, waiting.alert_id])
    done = section(page, "acknowledged")
    assert alert_ids(done) == [acknowledged.alert_id] and "平安" in done and "女儿已上门" in done
    assert sorted(alert_ids(section(page, "still_open"))) == sorted([waiting.alert_id, old.alert_id])
    assert old.alert_id not in section(page, "new")
    assert "仍待处理" in page and "已升级通知" in page
    english = (await client.get("/handoff", params={"since": since, "lang": "en"})).text
    assert "Still open" in english and "Escalated" in english and "safe" in section(english, "acknowledged")


async def test_the_outgoing_officers_note_is_what_the_incoming_one_sees_first(make_client):
    outgoing = await make_client(Role.DUTY, ("north",))
    incoming = await make_client(Role.DUTY, ("north",))

    response = await outgoing.post("/handoff", data={"site": "north", "note": "张桂兰家燃气表换新，明早再确认读数。"})

    assert (response.status_code, response.headers["location"]) == (303, "/handoff?site=north")
    board = (await incoming.get("/?lang=zh-CN")).text
    banner = board[board.index('<aside id="latest-handoff"') : board.index("</aside>", board.index('<aside id="latest-handoff"'))]
    assert "最新交班留言" in banner and "duty 1" in banner and "北苑社区" in banner and "张桂兰家燃气表换新" in banner
    assert board.index('id="latest-handoff"') < board.index('id="board"')  # above the alerts
    notes = section((await incoming.get("/handoff?lang=en")).text, "handoff-notes")
    assert "duty 1" in notes and "张桂兰家燃气表换新" in notes and "the shift since" in notes


async def test_a_handoff_without_a_note_is_not_saved(make_client):
    officer = await make_client(Role.DUTY, ("north",))
    response = await officer.post("/handoff", data={"site": "north", "note": "  "})
    page = (await officer.get(response.headers["location"] + "&lang=en")).text
    assert "Write the note and choose the community." in page and "No handoff notes yet." in page


async def test_handoffs_stay_within_their_community(make_client):
    south = await make_client(Role.DUTY, ("south",))
    await south.post("/handoff", data={"site": "south", "note": "南湖社区的交班留言"})
    north = await make_client(Role.DUTY, ("north",))

    assert (await north.get("/handoff", params={"site": "south"})).status_code == 404
    assert (await north.post("/handoff", data={"site": "south", "note": "x"})).status_code == 404
    assert "南湖社区的交班留言" not in (await north.get("/handoff")).text
    assert 'id="latest-handoff"' not in (await north.get("/")).text
    assert "南湖社区的交班留言" in (await south.get("/handoff")).text


async def test_the_handoff_as_json_says_what_happened_since_a_time_and_takes_the_note(make_client, store, make_detection):
    acknowledged, waiting, south = make_detection("hh-001"), make_detection("hh-002"), make_detection("hh-003")
    await store.apply([acknowledged, waiting, south])
    await store.acknowledge(acknowledged.alert_id, "张三", "女儿已上门", Outcome(OutcomeKind.SAFE))
    outgoing, incoming = await make_client(Role.DUTY, ("north",)), await make_client(Role.DUTY, ("north",))
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)

    report = await outgoing.get("/api/handoff", params={"since": an_hour_ago.isoformat()})
    written = await outgoing.post("/api/handoff", json={"note": "张桂兰家燃气表换新，明早再确认读数。", "since": an_hour_ago.isoformat()})

    assert report.status_code == 200, report.text
    body = report.json()
    assert datetime.fromisoformat(body["since"]) == an_hour_ago and body["site_id"] is None
    assert sorted(a["id"] for a in body["new"]) == sorted([acknowledged.alert_id, waiting.alert_id])  # south's is not theirs
    assert [(a["id"], a["outcome"]) for a in body["acknowledged"]] == [(acknowledged.alert_id, "safe")]
    assert [a["id"] for a in body["still_open"]] == [waiting.alert_id] and body["resolved"] == [] and body["notes"] == []
    assert written.status_code == 201, written.text
    note = written.json()
    assert (note["site_id"], note["author"], note["note"]) == ("north", "duty 1", "张桂兰家燃气表换新，明早再确认读数。")
    # The incoming officer's handoff starts where the note's shift started, with the note on top.
    handed = (await incoming.get("/api/handoff", params={"site": "north"})).json()
    assert datetime.fromisoformat(handed["since"]) == an_hour_ago and [n["id"] for n in handed["notes"]] == [note["id"]]
    assert "张桂兰家燃气表换新" in (await incoming.get("/?lang=zh-CN")).text  # and the board's banner shows it


async def test_a_json_handoff_note_names_its_community_when_there_are_several(make_client):
    both = await make_client(Role.SUPERVISOR, ("north", "south"))
    unsure = await both.post("/api/handoff", json={"note": "交班"})
    local = await both.post("/api/handoff", json={"site_id": "south", "note": "交班", "since": "2030-01-01T08:00"})
    assert unsure.status_code == 422 and unsure.json()["detail"][0]["loc"] == ["body", "site_id"]
    assert local.status_code == 201 and datetime.fromisoformat(local.json()["since"]) == datetime(2030, 1, 1, tzinfo=UTC)  # 08:00 China time
    assert (await both.post("/api/handoff", json={"site_id": "south", "note": "  "})).status_code == 422
