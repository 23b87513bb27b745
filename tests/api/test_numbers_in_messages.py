"""Issue 15: the messages about an alert carry the numbers to call, read from the directory when they are written."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts.contacts import household_people
from alerts.ladder import AlertLadder
from alerts.notify_tables import OutboxMessage
from alerts.people import PeopleFile
from alerts.policy import EscalationPolicy
from alerts.store import AlertStore
from tests.alerts.conftest import FakeClock
from tests.api.conftest import ONSET, detection
from tests.notify.people import PEOPLE

ELDER = {"id": "elder", "role": "elder", "name": "张桂兰", "channels": [{"kind": "sms", "address": "+8613900000009"}]}
DAUGHTER = {"id": "daughter", "name": "王芳", "relation": "女儿", "channels": [{"kind": "sms", "address": "+8613700000001"}]}
SON_ABROAD = {"id": "son", "name": "Wang Lei", "relation": "son", "language": "en", "channels": [{"kind": "sms", "address": "+447700900123"}]}


async def _messages(client, sessions, *, community_phone: str) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    """Raise an alert for hh-001 and climb to page_duty; (step, recipient) → body."""
    await client.patch("/api/sites/north", json={"phone": community_phone})
    for contact in (ELDER, DAUGHTER, SON_ABROAD):
        assert (await client.post("/api/households/hh-001/contacts", json=contact)).status_code == 201
    sites = {**PEOPLE, "sites": [{**PEOPLE["sites"][0], "site": "north"}], "households": []}
    clock = FakeClock(ONSET + timedelta(hours=24))
    ladder = AlertLadder(PeopleFile.from_document(sites), EscalationPolicy.load(), clock, households=household_people)
    store = AlertStore(sessions, clock=clock, ladder=ladder)
    await store.apply([detection()])
    for _ in range(2):  # notify_family, then page_duty
        clock.advance(minutes=15)
        await ladder.tick(sessions)
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms"))).all()
    return {(m.purpose, m.recipient_name): m.body for m in rows}


async def test_elder_family_and_duty_messages_name_the_numbers_to_call(client, sessions):
    sent = await _messages(client, sessions, community_phone="0532-80001234")

    assert "需要帮助请拨打社区电话0532-80001234。" in sent[("check_elder", "张桂兰")]
    assert "联系不上请拨打社区电话0532-80001234。" in sent[("notify_family", "王芳（女儿）")]
    assert "call the community office on 0532-80001234" in sent[("notify_family", "Wang Lei (son)")]
    duty = [body for (purpose, _), body in sent.items() if purpose == "page_duty"]
    assert duty and all("老人电话+86 532 8888 0001。" in body and "家属王芳（女儿）电话+8613700000001。" in body for body in duty)


async def test_without_a_community_line_the_elder_is_still_told_to_call_the_community(client, sessions):
    sent = await _messages(client, sessions, community_phone="")

    assert "需要帮助请拨打社区电话。" in sent[("check_elder", "张桂兰")]
    assert "社区电话" not in sent[("notify_family", "王芳（女儿）")]
