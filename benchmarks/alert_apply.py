"""CPU per alert when a mass event raises many alerts in one batch, against a bare insert of the same rows.

    python3 benchmarks/alert_apply.py [--alerts 2000] [--runs 3] [--url postgresql+asyncpg://...]

A district's gas goes off, or a base station with thousands of NB-IoT meters falls silent: the detectors raise
thousands of alerts together and the runner stores them in one transaction (`AlertStore.apply`: the alert row, its
audit entry, its ladder's row, the site silences it may fall under).  Timed: one `apply` of ``--alerts`` alerts
of as many households of the directory (one site, one silence that covers none of them), without the ladder
(notifications off: the ladder's first step adds the outbox rows of its people); then the same alerts cleared in
one batch (the gas back on: each auto-resolved).  The baseline in the same run:
the same alert rows written by one bare executemany (the floor of any store).  CPU of this process
(`time.process_time`, aiosqlite's thread included), median of ``--runs``, each on a fresh database.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script too: the repository's packages

from alerts.lifecycle import AlertStatus  # noqa: E402 - needs the path above
from alerts.models import Alert
from alerts.silences import SiteSilence
from alerts.store import AlertStore
from carewatch.db import make_engine, make_sessions
from carewatch.directory import Household, Site
from carewatch.domain import AlertType, Detection, Explanation, Severity, Transition
from carewatch.schema import create_schema

ONSET = datetime(2026, 3, 1, 7, 30, tzinfo=UTC)


def detections(count: int) -> list[Detection]:
    return [
        Detection(
            household_id=f"hh-{n:06d}", alert_type=AlertType.NO_GAS_24H, transition=Transition.RAISED, onset=ONSET,
            at=ONSET + timedelta(hours=24), severity=Severity.CRITICAL,
            explanation=Explanation(zh="24 小时内燃气用量低于 0.01 m³", en="gas below 0.01 m³ in 24 h"),
            meter_ids=(f"gas-{n:06d}",), facts={"used_m3": 0.0},
        )
        for n in range(count)
    ]


async def fresh(url: str, count: int):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    await create_schema(engine)
    sessions = make_sessions(engine)
    async with sessions.begin() as session:
        session.add(Site(id="donghu", name="东湖社区"))
        await session.flush()
        await session.execute(insert(Household), [{"id": f"hh-{n:06d}", "site_id": "donghu"} for n in range(count)])
        session.add(SiteSilence(site_id="donghu", household_ids=["hh-none"], alert_types=["no_gas_24h"], include_safety=False,
                                starts_at=ONSET, ends_at=ONSET + timedelta(days=2), reason="换表", created_by="bench",
                                created_at=ONSET))
    return engine, sessions


async def timed_apply(url: str, batch: list[Detection]) -> tuple[float, float]:
    """CPU seconds to raise the batch, then to clear it (the gas back on: every alert auto-resolved together)."""
    engine, sessions = await fresh(url, len(batch))
    store = AlertStore(sessions)
    cleared = [dataclasses.replace(d, transition=Transition.CLEARED, at=d.at + timedelta(hours=2)) for d in batch]
    try:
        started = time.process_time()
        await store.apply(batch)
        raised = time.process_time()
        await store.apply(cleared)
        return raised - started, time.process_time() - raised
    finally:
        await engine.dispose()


async def timed_insert(url: str, batch: list[Detection]) -> float:
    engine, sessions = await fresh(url, len(batch))
    now = ONSET + timedelta(days=1)
    rows = [
        {"id": d.alert_id, "household_id": d.household_id, "alert_type": d.alert_type, "severity": d.severity,
         "audience": d.alert_type.audience, "status": AlertStatus.OPEN, "onset": d.onset, "raised_at": d.at,
         "created_at": now, "updated_at": now, "explanation_zh": d.explanation.zh, "explanation_en": d.explanation.en,
         "meter_ids": list(d.meter_ids), "facts": dict(d.facts)}
        for d in batch
    ]
    try:
        started = time.process_time()
        async with sessions.begin() as session:
            await session.execute(insert(Alert), rows)
        return time.process_time() - started
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    batch = detections(args.alerts)
    applied, cleared, inserted = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as scratch:
            url = args.url or f"sqlite+aiosqlite:///{scratch}/alerts.db"
            raised_s, cleared_s = await timed_apply(url, batch)
            applied.append(raised_s)
            cleared.append(cleared_s)
        with tempfile.TemporaryDirectory() as scratch:
            url = args.url or f"sqlite+aiosqlite:///{scratch}/alerts.db"
            inserted.append(await timed_insert(url, batch))
    per_alert = statistics.median(applied) / args.alerts * 1e3
    floor = statistics.median(inserted) / args.alerts * 1e3
    print(f"AlertStore.apply: {per_alert:.2f} ms CPU an alert (runs: {', '.join(f'{s / args.alerts * 1e3:.2f}' for s in applied)}); "
          f"{args.alerts:,} alerts in one batch: {statistics.median(applied):.1f} s")
    print(f"the same alerts cleared in one batch (auto-resolved): {statistics.median(cleared) / args.alerts * 1e3:.2f} ms CPU an alert "
          f"(runs: {', '.join(f'{s / args.alerts * 1e3:.2f}' for s in cleared)})")
    print(f"bare insert of the same rows: {floor:.3f} ms CPU an alert (runs: {', '.join(f'{s / args.alerts * 1e3:.3f}' for s in inserted)})")
    print(f"ratio apply / bare insert: {per_alert / floor:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", default="", help="a database URL to use instead of a fresh SQLite file (it must be empty)")
    asyncio.run(main(parser.parse_args()))
