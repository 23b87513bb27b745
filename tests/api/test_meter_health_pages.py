"""Meter health on the console: the household page's meters, and a site's devices page sortable by last heard and battery.

The health rows are stored as both runners store them (store_summaries, from a monitor's own summary).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from api.models import Role
from carewatch.domain import MeterFlag, MeterKind
from detectors.meter_health import MeterHealthSummary
from detectors.summary import RoutineSummary
from ingest.summaries import HouseholdSummaryRecord, store_summaries

HEARD = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
NOTHING_LEARNED = RoutineSummary(True, 0, 14, None, None, {}, None)


def meter(meter_id: str, kind: MeterKind, heard_h: float, battery: float | None, **changes: object) -> MeterHealthSummary:
    plain = MeterHealthSummary(meter_id, kind, HEARD + timedelta(hours=heard_h), battery, -97.0, -98.5, "OK", (), False, False)
    return replace(plain, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def health(sessions) -> None:  # type: ignore[no-untyped-def]
    """hh-001: a gas meter low on battery and reporting tampering, a water meter fine; hh-002's gas meter never heard;
    south's hh-003 weak for days."""
    records = [
        HouseholdSummaryRecord("hh-001", 10, 0, NOTHING_LEARNED, (
            meter("gas-001", MeterKind.GAS, 0, 12.0, battery_low=True, status="TAMPER", flags=(MeterFlag.TAMPER,)),
            meter("water-001", MeterKind.WATER, -5, 80.0),
        )),
        HouseholdSummaryRecord("hh-003", 10, 0, NOTHING_LEARNED, (
            meter("gas-003", MeterKind.GAS, -30, 55.0, signal_dbm=-118.0, signal_median_dbm=-116.0, weak_signal=True),
        )),
    ]
    async with sessions.begin() as session:
        await store_summaries(session, records, datetime.now(UTC))


def rows(page: str) -> list[str]:
    return re.findall(r'<tr id="meter-([\w.-]+)">', page)


def section(page: str) -> str:
    return page[page.index('id="meter-health"') : page.index('id="contacts"')]


async def test_the_household_page_shows_each_meters_health_in_both_languages(client, health):
    english = section((await client.get("/households/hh-001?lang=en")).text)
    assert rows(english) == ["gas-001", "water-001"]
    gas = english[english.index('id="meter-gas-001"') : english.index('id="meter-water-001"')]
    assert "2026-01-05 08:30" in gas and "12 % <strong>low</strong>" in gas and "-97 dBm" in gas
    assert "<code>TAMPER</code>" in gas and "<strong>tampering</strong>" in gas
    assert "families are never told" in english
    chinese = section((await client.get("/households/hh-001?lang=zh")).text)
    assert "表具状态" in chinese and "电量低" in chinese and "被拆动" in chinese and "不会通知家属" in chinese


async def test_a_meter_never_summarised_is_shown_as_never_heard(client, health):
    page = section((await client.get("/households/hh-002?lang=en")).text)
    assert rows(page) == ["gas-002"] and "Never heard" in page


async def test_the_devices_page_sorts_by_last_heard_and_by_battery(client, health):
    by_heard = (await client.get("/sites/north/devices?lang=en")).text
    assert rows(by_heard) == ["gas-002", "water-001", "gas-001"]  # never heard, then the longest unheard
    by_battery = (await client.get("/sites/north/devices?lang=en&sort=battery")).text
    assert rows(by_battery) == ["gas-001", "water-001", "gas-002"]  # lowest first, no battery known last
    assert "Meters of 北苑社区" in by_battery and 'href="/households/hh-001"' in by_battery
    chinese = (await client.get("/sites/north/devices?lang=zh")).text
    assert "北苑社区的表具" in chinese and "最近上报" in chinese and "尚未收到" in chinese
    assert (await client.get("/sites/north/devices?sort=name")).status_code == 422


async def test_the_devices_page_shows_a_weak_signal(client, health):
    page = (await client.get("/sites/south/devices?lang=en")).text
    assert rows(page) == ["gas-003"] and "-118 dBm" in page and "3-day median -116" in page and "weak for days" in page


async def test_staff_see_only_their_sites_devices(make_client, health):
    north = await make_client(Role.DUTY, ("north",))
    assert (await north.get("/sites/south/devices")).status_code == 404
    assert (await north.get("/sites/nowhere/devices")).status_code == 404
    own = await north.get("/sites/north/devices")
    assert own.status_code == 200 and "gas-003" not in own.text
    index = await north.get("/devices", follow_redirects=False)
    assert (index.status_code, index.headers["location"]) == (303, "/sites/north/devices")  # one site: straight to it
    both = await make_client(Role.SUPERVISOR, ("north", "south"))
    listing = (await both.get("/devices?lang=en")).text
    assert 'href="/sites/north/devices"' in listing and 'href="/sites/south/devices"' in listing
    assert 'href="/devices"' in listing  # the nav link
