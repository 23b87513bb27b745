"""What the two engines' demos share: options, the broker, the catchers' settings and the summary."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.catchers import Catchers, caught_http, caught_mail
from alerts.outbox import delivery_report
from alerts.lifecycle import AlertStatus
from alerts.store import AlertStore
from carewatch.cli.demo.mqtt_broker import embedded_broker
from carewatch.cli.evaluation import RaisedAlert, TruthIncident, evaluate
from carewatch.domain import AlertType
from carewatch.settings import Settings
from ingest.stats import read_stats
from ingest.subscriber import BrokerAddress

DEMO_START = datetime(2026, 1, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
DEMO_SETTINGS = {"environment": "development", "cookie_secure": False, "link_secret": secrets.token_urlsafe(32)}
"""The demo runs in development, explicitly: its console is plain http on this machine, and its family links
are signed with a secret of its own (one per run: they die with the demo's database)."""
NOTIFY_SETTLE_S = 30.0
"""Headless: how long to wait at most for the ladder and the dispatcher to finish after the last reading."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    households: int = 50
    days: float = 3.0
    seed: int = 1
    headless: bool = False
    speed: float | None = 3600.0
    """Simulated seconds per real second while nothing waits for a person (None: as fast as the machine allows)."""
    pace: float = 5.0
    """Console mode: simulated seconds per real second from shortly before an alert until someone acknowledged it.
    At 5, the ladder's shortest wait before it tells the family (15 simulated minutes) takes 3 real minutes."""
    approach_s: float = 60.0
    """Console mode: real seconds at the slow pace before an expected alert, to watch it arrive."""
    mqtt_url: str | None = None
    start: datetime = DEMO_START
    engine: str = "embedded"
    """"embedded": one process; "faust": bridge → Kafka → Faust worker → alert service (headless only)."""


@contextlib.asynccontextmanager
async def broker_for(options: DemoOptions) -> AsyncIterator[BrokerAddress]:
    if options.mqtt_url:
        yield BrokerAddress.from_url(options.mqtt_url)
        return
    async with embedded_broker() as (host, port):
        yield BrokerAddress(host, port)


async def demo_summary(sessions, simulation, published, options, elapsed_s: float, stats=None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    store = AlertStore(sessions)
    every = await store.list(limit=100_000)
    rows = [a for a in every if a.alert_type is not AlertType.CHECK_IN]  # alerts for family and staff
    check_ins = sorted((a for a in every if a.alert_type is AlertType.CHECK_IN), key=lambda a: (a.raised_at, a.id))
    if stats is None:  # the Faust engine passes what it read back from Kafka
        async with sessions() as session:
            stats = await read_stats(session)
    raised = [RaisedAlert(a.id, a.household_id, a.alert_type, a.onset, a.raised_at) for a in rows]
    incidents = [TruthIncident(i.household_id, str(i.kind), i.start) for i in simulation.incidents]
    verdict = evaluate(incidents, raised)
    return {
        "households": options.households,
        "days": options.days,
        "seed": options.seed,
        "simulated_from": options.start.isoformat(),
        "simulated_to": published.sim_end.isoformat(),
        "elapsed_s": round(elapsed_s, 1),
        "readings": {
            "published": published.readings,
            "accepted": stats.readings_accepted,
            "duplicates": stats.readings_duplicate,
            "rejected": stats.rejected_by_reason,
        },
        "incidents": [
            {
                **incident.to_json(),
                "detected_by": outcome.alert.alert_id if outcome.alert else None,
                "delay_h": round(outcome.delay_h, 2) if outcome.delay_h is not None else None,
            }
            for incident, outcome in zip(simulation.incidents, verdict.outcomes, strict=True)
        ],
        "alerts": [
            {
                "alert_id": a.id,
                "household_id": a.household_id,
                "type": str(a.alert_type),
                "severity": str(a.severity),
                "status": str(a.status),
                "onset": a.onset.isoformat(),
                "raised_at": a.raised_at.isoformat(),
                "explanation_en": a.explanation_en,
            }
            for a in sorted(rows, key=lambda a: (a.raised_at, a.id))
        ],
        "check_ins": {
            # The soft tier: questions to the elder alone (none before the routine is learned: 14 days).
            "asked": len(check_ins),
            "answered_fine": sum(1 for a in check_ins if a.status is AlertStatus.RESOLVED),
            "unanswered": sum(1 for a in check_ins if (a.facts or {}).get("ended") == "unanswered"),
            "items": [
                {
                    "alert_id": a.id,
                    "household_id": a.household_id,
                    "status": str(a.status),
                    "ended": (a.facts or {}).get("ended"),
                    "raised_at": a.raised_at.isoformat(),
                }
                for a in check_ins
            ],
        },
        "verdict": {
            "incidents": len(verdict.outcomes),
            "detected": len(verdict.outcomes) - len(verdict.missed),
            "missed": [o.incident.household_id + ":" + o.incident.kind for o in verdict.missed],
            "unexplained_alerts": [a.alert_id for a in verdict.unexplained],
            "false_inactivity_alerts": [a.alert_id for a in verdict.false_inactivity],
        },
    }


LADDER_IN_LOCKSTEP = (
    "lockstep: after each upload step is judged, the ladder runs what is due by the newest reading's time and its "
    "messages are sent before the next step is published: the same arguments send the same messages on any machine"
)
LADDER_FREE_RUNNING = (
    "free-running: the escalator reads the ladder clock (the newest detection's time) every 0.25 s while simulated "
    "time runs hours per second, and the dispatcher sends on the wall clock: steps land late, overdue reminders merge "
    "into one, the rota is read at a later hour, and an alert the detectors close at once has its messages cancelled "
    "before they go. Which messages and how many vary from run to run; the alerts do not"
)
"""What the headless summary's ``notifications.ladder`` says (docs/notifications.md, "The headless demo's ladder")."""


async def notifications_report(sessions, catchers: Catchers, settled: bool, ladder: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What the ladder wrote (every message: sent, cancelled, held or failed) and what the catchers received;
    ``ladder`` says how the ladder kept time (LADDER_IN_LOCKSTEP or LADDER_FREE_RUNNING)."""
    async with sessions() as session:
        report = await delivery_report(session)
    return {
        "settled": settled,
        "ladder": ladder,
        **report,
        "caught": {"mail": len(caught_mail(catchers.directory, limit=1_000_000)), "http": len(caught_http(catchers.directory, limit=1_000_000))},
        "catcher_dir": str(catchers.directory),
    }


def notifying(settings: Settings, catchers: Catchers) -> Settings:
    """Every channel of the ladder leads to the local catchers; the escalator looks often, since simulated time flies."""
    return settings.model_copy(
        update={
            "people_path": catchers.people_path,
            "smtp_host": "127.0.0.1",
            "smtp_port": catchers.smtp_port,
            "smtp_sender": "alerts@carewatch.example",
            "sms_provider_url": f"{catchers.http_url}/sms",
            "voice_provider_url": f"{catchers.http_url}/voice",
            "catcher_dir": catchers.directory,
            "escalate_every": timedelta(seconds=0.25),
            "dispatch_every": timedelta(seconds=0.25),
        }
    )


