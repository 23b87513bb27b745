"""The household page shows the check-ins asked of the elder and how each ended, in both languages;
they stay off the board and out of the alert history."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from tests.alerts.conftest import ONSET
from tests.alerts.conftest import detection as any_detection

from alerts.outcomes import Outcome, OutcomeKind
from carewatch.domain import AlertType, Transition


def check_in(transition: Transition = Transition.RAISED, hours: float = 0.0, **facts):  # type: ignore[no-untyped-def]
    found = any_detection("hh-001", AlertType.CHECK_IN, transition, onset=ONSET + timedelta(hours=hours), at=ONSET + timedelta(hours=hours + 10))
    return dataclasses.replace(found, facts={**found.facts, **facts})


async def test_the_household_page_shows_check_ins_and_their_answers(client, store):  # type: ignore[no-untyped-def]
    await store.apply([check_in()])
    await store.resolve(check_in().alert_id, "elder: 张桂兰", "elder confirmed safe", Outcome(OutcomeKind.SAFE))
    await store.apply([check_in(hours=30)])
    await store.apply([check_in(Transition.CLEARED, hours=30, ended="unanswered")])

    english = (await client.get("/households/hh-001?lang=en")).text
    chinese = (await client.get("/households/hh-001?lang=zh-CN")).text

    section = english[english.index('id="check-ins"') : english.index('id="history"')]
    assert "Check-ins with the elder" in section
    assert "张桂兰 answered \u201cI&#39;m fine\u201d" in section
    assert "No answer: family and duty staff told" in section
    zh = chinese[chinese.index('id="check-ins"') : chinese.index('id="history"')]
    assert "询问老人记录" in zh and "张桂兰回复“我很好”" in zh and "未回复：已通知家属和值班人员" in zh
    history = english[english.index('id="history"') :]
    assert "Less use than usual" not in history  # the alert history is what family and staff were told


async def test_a_check_in_is_not_on_the_board(client, store):  # type: ignore[no-untyped-def]
    await store.apply([check_in()])

    board = (await client.get("/?lang=en")).text

    assert "Less use than usual" not in board
