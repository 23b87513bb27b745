"""Ingest statistics as the API and the console show them, read from ingest's tables."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from ingest.models import DeadLetter, GatewaySequence, GatewayStatus, IngestCounter, UnknownMeter

SEEN = datetime(2025, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
async def ingest_rows(sessions) -> None:
    def dead_letter(reason: str) -> DeadLetter:
        return DeadLetter(received_at=SEEN, topic="carewatch/v1/gateways/gw-1/readings", gateway_id="gw-1",
                          meter_id=None, reading_index=None, reason=reason, detail="test", payload=b"{")

    async with sessions.begin() as session:
        session.add_all(
            [
                IngestCounter(name="messages", value=12),
                IngestCounter(name="readings_accepted", value=40),
                IngestCounter(name="readings_duplicate", value=3),
                dead_letter("malformed_json"),
                dead_letter("malformed_json"),
                dead_letter("unknown_meter"),
                UnknownMeter(meter_id="gas-999", gateway_id="gw-1", first_seen=SEEN, last_seen=SEEN, readings=5),
                UnknownMeter(meter_id="water-998", gateway_id=None, first_seen=SEEN, last_seen=SEEN, readings=1),
                GatewayStatus(gateway_id="gw-7", state="offline", changed_at=SEEN),
                GatewayStatus(gateway_id="gw-1", state="online", changed_at=SEEN),
                GatewaySequence(gateway_id="gw-1", highest_seq=900, open_gaps="[[700,709]]", messages_missing=84,
                                resets=1, duplicates=2, updated_at=SEEN),
                GatewaySequence(gateway_id="gw-2", highest_seq=50, open_gaps="[]", messages_missing=0,
                                resets=0, duplicates=5, updated_at=SEEN),
            ]
        )


async def test_ingest_stats_reflect_the_ingest_tables(client: httpx.AsyncClient, ingest_rows):
    response = await client.get("/api/ingest/stats")

    assert response.status_code == 200
    assert response.json() == {
        "messages": 12,
        "readings_accepted": 40,
        "readings_duplicate": 3,
        "rejected": 3,
        "rejected_by_reason": {"malformed_json": 2, "unknown_meter": 1},
        "unknown_meter_count": 2,
        "gateways_offline": ["gw-7"],
        "messages_missing": 84,
        "gateway_gaps": [
            {"gateway_id": "gw-1", "messages_missing": 84, "resets": 1, "duplicates": 2, "last_seq": 900,
             "updated_at": "2025-03-02T08:00:00Z"},
        ],
    }


async def test_ingest_stats_of_an_empty_database_are_zero(client: httpx.AsyncClient):
    body = (await client.get("/api/ingest/stats")).json()
    assert (body["messages"], body["rejected"], body["unknown_meter_count"]) == (0, 0, 0)


async def test_unknown_meters_are_listed_for_provisioning(client: httpx.AsyncClient, ingest_rows):
    meters = (await client.get("/api/ingest/unknown-meters")).json()
    assert {(m["meter_id"], m["gateway_id"], m["readings"]) for m in meters} == {("gas-999", "gw-1", 5), ("water-998", None, 1)}


async def test_console_shows_the_ingest_panel(client: httpx.AsyncClient, ingest_rows):
    page = (await client.get("/?lang=zh")).text
    panel = page[page.index('<aside id="ingest">') :]
    assert '<dt>已接收读数</dt><dd data-counter="readings_accepted">40</dd>' in panel
    assert '<dt>已拒收</dt><dd data-counter="rejected">3</dd>' in panel
    assert '<dt>未登记表具</dt><dd data-counter="unknown_meters">2</dd>' in panel
    assert "JSON 格式错误: 2" in panel and "未登记表具: 1" in panel
    assert "gw-7" in panel
    assert '<dt>丢失报文</dt><dd data-counter="messages_missing">84</dd>' in panel
    assert "gw-1: 84 条丢失, 1 次计数重置" in panel
