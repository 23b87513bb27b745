"""A supervisor's monthly report: counts by type and outcome, false-alarm share, how fast people answered."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from alerts.notify_tables import MessageStatus, OutboxMessage
from alerts.outcomes import FalseAlarmReason, Outcome, OutcomeKind
from alerts.store import AlertStore
from api.models import Role
from carewatch.domain import AlertType
from tests.alerts.conftest import FakeClock

MARCH = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in the north's zone (Asia/Shanghai)


async def a_month_of_alerts(sessions, make_detection) -> None:  # type: ignore[no-untyped-def]
    """North: four alerts answered in 10, 30 and 5 minutes (one still open); south: one, not north's to see."""
    clock = FakeClock(MARCH)
    store = AlertStore(sessions, clock=clock)
    safe, away = make_detection("hh-001", onset=MARCH.replace(day=2)), make_detection("hh-002", onset=MARCH.replace(day=4))
    still_open = make_detection("hh-001", AlertType.METER_SILENT, onset=MARCH.replace(day=6))
    flowing = make_detection("hh-001", AlertType.GAS_CONTINUOUS, onset=MARCH.replace(day=8))
    await store.apply([safe, away, still_open, flowing, make_detection("hh-003")])
    clock.advance(minutes=5)
    await store.resolve(flowing.alert_id, "officer", "sent help", Outcome(OutcomeKind.UNWELL))
    clock.advance(minutes=5)
    await store.acknowledge(safe.alert_id, "officer", "", Outcome(OutcomeKind.SAFE))
    clock.advance(minutes=20)
    await store.acknowledge(away.alert_id, "officer", "", Outcome(OutcomeKind.FALSE_ALARM, FalseAlarmReason.AWAY))
    async with sessions.begin() as session:
        session.add(OutboxMessage(
            idempotency_key="k1", alert_id=safe.alert_id, household_id="hh-001", purpose="notify_family", recipient_id="hh-001.daughter",
            recipient_name="王芳", recipient_role="family", channel="sms", address="+8613700000001", language="zh-CN", subject="",
            body="", payload={}, status=MessageStatus.SENT, created_at=MARCH, sent_at=MARCH.replace(minute=15),
        ))


async def test_a_supervisor_sees_the_month_by_type_and_outcome_and_how_fast_people_answered(make_client, sessions, make_detection):
    await a_month_of_alerts(sessions, make_detection)
    supervisor = await make_client(Role.SUPERVISOR, ("north",))

    report = (await supervisor.get("/api/sites/north/reports/2026-03")).json()

    assert report["total"] == 4, "the south's alert is not the north's"
    rows = {row["alert_type"]: row for row in report["rows"]}
    assert rows["no_gas_24h"]["by_outcome"] == {"safe": 1, "false_alarm": 1}
    assert rows["meter_silent"]["by_outcome"] == {"still_open": 1} and rows["meter_silent"]["false_alarm_share"] is None
    assert rows["no_gas_24h"]["false_alarm_share"] == 0.5
    assert rows["gas_continuous"]["by_outcome"] == {"unwell": 1}
    assert report["first_response"] == {"count": 3, "median_min": 10.0, "p90_min": 30.0}
    assert report["family_contact"] == {"count": 1, "median_min": 15.0, "p90_min": 15.0}
    assert (await supervisor.get("/api/sites/north/reports/2026-04")).json()["total"] == 0


async def test_the_report_page_draws_the_chart_in_chinese_and_the_csv_opens(make_client, sessions, make_detection):
    await a_month_of_alerts(sessions, make_detection)
    supervisor = await make_client(Role.SUPERVISOR, ("north",))

    page = await supervisor.get("/sites/north/reports?month=2026-03")

    assert page.status_code == 200
    assert "北苑社区 2026-03 月度报告" in page.text and "<svg" in page.text and "误报比例" in page.text
    assert "中位数 10分钟" in page.text or "中位数 10 分钟" in page.text
    assert "false_alarm" not in page.text.split("<main", 1)[1], "no raw codes on a Chinese page"
    export = await supervisor.get("/sites/north/reports/2026-03.csv")
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert table[0][:2] == ["报警类型", "合计"] and table[0][-1].startswith("误报比例")
    assert sorted(row[1] for row in table[1:]) == ["1", "1", "2"]


async def test_only_supervisors_and_admins_of_the_community_see_its_report(make_client):
    duty = await make_client(Role.DUTY, ("north",))
    south = await make_client(Role.SUPERVISOR, ("south",))
    admin = await make_client(Role.ADMIN)

    assert (await duty.get("/api/sites/north/reports/2026-03")).status_code == 403
    assert (await duty.get("/reports")).status_code == 403
    assert (await south.get("/api/sites/north/reports/2026-03")).status_code == 404
    assert (await admin.get("/api/sites/north/reports/2026-03")).status_code == 200
    bad = await admin.get("/api/sites/north/reports/March")
    assert bad.status_code == 422 and "YYYY-MM" in bad.text
    assert (await south.get("/reports", follow_redirects=False)).headers["location"] == "/sites/south/reports"



async def test_a_month_of_more_alerts_than_one_statement_can_bind_still_gives_the_report(sqlite_or_postgres_sessions):
    """A community's bad month (a mass meter_silent, batteries going flat) can hold more alerts than PostgreSQL binds
    parameters in one statement (32,767): the family-contact figures asked for every alert id in one IN list, and the
    report failed ("the number of query arguments cannot exceed 32767")."""
    from sqlalchemy import insert

    from alerts.lifecycle import AlertStatus
    from alerts.models import Alert
    from api.reports import monthly_report
    from carewatch.directory import Household, Site
    from carewatch.domain import Severity

    sessions, alerts = sqlite_or_postgres_sessions, 33_000
    rows = [
        {
            "id": f"hh-001.meter_silent.{n:06d}", "household_id": "hh-001", "alert_type": AlertType.METER_SILENT,
            "severity": Severity.WARNING, "audience": AlertType.METER_SILENT.audience, "status": AlertStatus.AUTO_RESOLVED,
            "onset": MARCH, "raised_at": MARCH, "created_at": MARCH, "updated_at": MARCH, "outcome_detail": "",
            "explanation_zh": "", "explanation_en": "", "meter_ids": [], "facts": {},
        }
        for n in range(alerts)
    ]
    async with sessions.begin() as session:
        session.add(Site(id="north", name="北苑社区", timezone="Asia/Shanghai"))
        await session.flush()
        session.add(Household(id="hh-001", site_id="north", timezone="Asia/Shanghai"))
        await session.flush()
        await session.execute(insert(Alert), rows)
        session.add(OutboxMessage(
            idempotency_key="k1", alert_id=rows[-1]["id"], household_id="hh-001", purpose="notify_family",
            recipient_id="hh-001.daughter", recipient_name="王芳", recipient_role="family", channel="sms",
            address="+8613700000001", language="zh-CN", subject="", body="", payload={}, status=MessageStatus.SENT,
            created_at=MARCH, sent_at=MARCH.replace(minute=20),
        ))

    async with sessions() as session:
        report = await monthly_report(session, await session.get(Site, "north"), "2026-03")

    assert report.total == alerts
    assert report.family_contact.count == 1 and report.family_contact.median_min == 20.0
