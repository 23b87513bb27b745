"""The household page and the household JSON show the routine the runner's monitor has learned, where it has one.

Here the summaries are stored as the embedded runner stores them; `tests/stream/test_end_to_end.py`
shows the page on the Faust path.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from detectors.summary import summarize
from ingest.models import HouseholdSummary
from ingest.summaries import HouseholdSummaryRecord, store_summaries
from tests.detectors.conftest import monitor_after


@pytest.fixture
async def snapshots(sessions) -> None:  # type: ignore[no-untyped-def]
    """As the runners summarise the states they save: hh-001 learned for 20 days, hh-003 for 10, hh-002 none."""
    summaries = [HouseholdSummaryRecord(h, 0, 0, summarize(monitor_after(days))) for h, days in (("hh-001", 20), ("hh-003", 10))]
    async with sessions.begin() as session:
        await store_summaries(session, summaries, datetime.now(UTC))


def learned(page: str) -> str:
    return page[page.index('id="learned"') : page.index('id="usage"')]


async def test_the_household_page_shows_the_learned_routine(client, snapshots):
    english = learned((await client.get("/households/hh-001?lang=en")).text)
    assert re.search(r"Learned from the last \d\d normal days", english)
    assert re.search(r"Usual first use in the morning</dt><dd>by 07:[0-3]\d</dd>", english)
    assert re.search(r"Sleeping hours</dt><dd>2\d:\d\d–0\d:\d\d</dd>", english)
    assert "Gas 150 l · Water 70 l" in english
    assert re.search(r"Longest usual quiet</dt><dd>up to \d+(\.\d+)? h at \d:00</dd>", english)
    assert english.count("<td>") == 24  # the quiet still usual at each hour
    chinese = learned((await client.get("/households/hh-001?lang=zh")).text)
    assert "学习到的生活规律" in chinese and "燃气 150 升 · 用水 70 升" in chinese and "早上通常首次用水用气" in chinese


async def test_during_the_warm_up_the_page_says_how_far_learning_is(client, snapshots):
    english = learned((await client.get("/households/hh-003?lang=en")).text)
    assert re.search(r"Still learning: \d of 14 days", english) and "<progress" in english
    assert "<table" not in english  # no usual quiet before the warm-up ends
    assert re.search(r"仍在学习：已学 \d 天，共需 14 天", learned((await client.get("/households/hh-003?lang=zh")).text))
    assert "Nothing learned yet" in learned((await client.get("/households/hh-002?lang=en")).text)


async def test_the_household_json_carries_the_learned_routine(client, snapshots):
    routine_json = (await client.get("/api/households/hh-001")).json()["routine"]
    assert routine_json["warm"] and routine_json["usual_litres_per_day"] == {"gas": 150, "water": 70}
    assert routine_json["first_use"].startswith("07:") and len(routine_json["usual_quiet_h_by_hour"]) == 24
    warming = (await client.get("/api/households/hh-003")).json()["routine"]
    assert (warming["warm"], warming["warmup_days"], warming["usual_quiet_h_by_hour"]) == (False, 14, None)
    assert (await client.get("/api/households/hh-002")).json()["routine"] is None


async def test_an_unreadable_stored_routine_leaves_the_page_without_a_routine(client, sessions):
    async with sessions.begin() as session:  # e.g. written by a runner of another version
        session.add(HouseholdSummary(household_id="hh-001", readings_accepted=1, readings_duplicate=0,
                                     routine={"learnt": True}, updated_at=datetime.now(UTC)))
    page = await client.get("/households/hh-001?lang=en")
    assert page.status_code == 200 and "Nothing learned yet" in learned(page.text)
    assert (await client.get("/api/households/hh-001")).json()["routine"] is None
