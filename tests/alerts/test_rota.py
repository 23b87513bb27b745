"""The duty rota in the database: the ladder pages whoever it puts on duty, overrides swap people for some days,
and a site without one keeps the people file's rota."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from alerts.rota import RotaOverride, RotaShift
from carewatch.directory import Site
from tests.alerts.test_ladder import advance_to, ladder, laddered, outbox, who  # noqa: F401  (fixtures)

CREATED = {"created_by": "陈主任", "created_at": datetime(2025, 3, 1, tzinfo=UTC)}
SUNDAY = 6  # the clock starts on Sunday 2025-03-02, 16:00 in Shanghai


@pytest.fixture
async def site(sessions) -> None:  # type: ignore[no-untyped-def]
    async with sessions.begin() as session:
        session.add(Site(id="donghu", name="东湖社区", timezone="Asia/Shanghai"))


async def add(sessions, *rows: object) -> None:  # type: ignore[no-untyped-def]
    async with sessions.begin() as session:
        session.add_all(rows)


async def paged(laddered, ladder, sessions, clock, make_detection) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    t0 = clock.now
    await laddered.apply([make_detection()])
    await advance_to(clock, ladder, sessions, 15, t0)
    return {w for w in who(await advance_to(clock, ladder, sessions, 30, t0)) if w[0] == "page_duty"}


async def test_the_ladder_pages_whom_the_database_rota_puts_on_duty(laddered, ladder, sessions, clock, site, make_detection):
    await add(sessions, RotaShift(site_id="donghu", weekday=SUNDAY, start=time(8), end=time(20), staff_id="duty-night", **CREATED))
    assert await paged(laddered, ladder, sessions, clock, make_detection) == {
        ("page_duty", "duty-night", "email"), ("page_duty", "donghu.group0", "wecom")}


async def test_an_override_gives_the_absent_members_shift_to_the_replacement(laddered, ladder, sessions, clock, site, make_detection):
    await add(sessions, RotaShift(site_id="donghu", weekday=SUNDAY, start=time(8), end=time(20), staff_id="duty-night", **CREATED),
              RotaOverride(site_id="donghu", first_day=date(2025, 3, 1), last_day=date(2025, 3, 2), absent_id="duty-night",
                           replacement_id="duty-day", reason="病假", **CREATED))
    assert ("page_duty", "duty-day", "sms") in await paged(laddered, ladder, sessions, clock, make_detection)


async def test_an_override_outside_its_days_changes_nothing(laddered, ladder, sessions, clock, site, make_detection):
    await add(sessions, RotaShift(site_id="donghu", weekday=SUNDAY, start=time(8), end=time(20), staff_id="duty-night", **CREATED),
              RotaOverride(site_id="donghu", first_day=date(2025, 3, 3), last_day=date(2025, 3, 9), absent_id="duty-night",
                           replacement_id="duty-day", reason="", **CREATED))
    assert ("page_duty", "duty-night", "email") in await paged(laddered, ladder, sessions, clock, make_detection)


async def test_a_site_without_a_database_rota_keeps_the_people_files(laddered, ladder, sessions, clock, site, make_detection):
    assert ("page_duty", "duty-day", "sms") in await paged(laddered, ladder, sessions, clock, make_detection)


async def test_a_gap_in_the_database_rota_pages_the_supervisor(laddered, ladder, sessions, clock, site, make_detection):
    await add(sessions, RotaShift(site_id="donghu", weekday=SUNDAY, start=time(0), end=time(8), staff_id="duty-night", **CREATED))
    assert ("page_duty", "boss", "sms") in await paged(laddered, ladder, sessions, clock, make_detection)
