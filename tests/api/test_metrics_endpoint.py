"""/metrics: open alerts are read from the database at scrape time, anyone may scrape unless it is closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from carewatch.settings import Settings
from ingest.archive import ArchiveOutbox


def samples(text: str, family: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for metrics_family in text_string_to_metric_families(text):
        if metrics_family.name == family:
            for sample in metrics_family.samples:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_an_anonymous_scraper_sees_the_open_alerts_by_type_and_severity(make_client, store, make_detection):
    await store.apply([make_detection("hh-001"), make_detection("hh-003")])
    anonymous = await make_client(None)

    response = await anonymous.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    open_alerts = samples(response.text, "carewatch_open_alerts")
    assert open_alerts == {(("alert_type", "no_gas_24h"), ("severity", "critical")): 2.0}
    assert samples(response.text, "carewatch_outbox_backlog") == {
        (("status", "held"),): 0.0, (("status", "pending"),): 0.0, (("status", "sending"),): 0.0,
    }


async def test_the_readings_waiting_for_the_archive_are_counted_at_scrape_time(make_client, sessions):
    at = datetime(2026, 1, 5, tzinfo=UTC)
    async with sessions.begin() as session:
        session.add_all(
            ArchiveOutbox(household_id="hh-001", meter_id="gas-1", kind="gas", site="east", at=at + timedelta(minutes=n), register_m3=1.0 + n)
            for n in range(3)
        )
    response = await (await make_client(None)).get("/metrics")

    assert samples(response.text, "carewatch_archive_backlog") == {(): 3.0}


async def test_metrics_closed_by_setting_answer_404(sessions):
    app = create_app(sessions=sessions, settings=Settings(_env_file=None, metrics_public=False))  # type: ignore[call-arg]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        assert (await client.get("/metrics")).status_code == 404
