"""The console demo's pace (carewatch/cli/demo/pacing.py): fast while nothing waits for a person, slow from shortly
before an expected alert until someone acknowledged it, and never ahead of what the pipeline has judged.

Small figures so it takes about two seconds: ten simulated hours per second fast, ten simulated minutes per second slow.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from alerts.lifecycle import AlertStatus
from alerts.policy import Action, EscalationPolicy
from carewatch.cli.demo import DemoOptions, run_demo
from carewatch.cli.demo.pacing import AHEAD_AT_MOST, Pacer, expected_alerts
from carewatch.cli.evaluation.replay import LATENESS
from carewatch.clock import PacedClock
from carewatch.domain import Audience
from carewatch.settings import Settings
from gateway_sim import SimConfig, Simulation

START = datetime(2026, 1, 5, tzinfo=UTC)
FAST, SLOW = 36_000.0, 600.0
ALERT = "hh-0001.no_activity_24h.20260105T000000Z"


def _pacer(clock: PacedClock, **more: object) -> Pacer:
    return Pacer(clock, fast=FAST, slow=SLOW, lead=timedelta(minutes=10), expected={ALERT: START + timedelta(hours=3)}, **more)  # type: ignore[arg-type]


async def test_the_demo_runs_fast_until_the_alert_is_near_then_slow_until_it_is_acknowledged():
    clock = PacedClock(START, pace=0.0)  # stands still until the simulation starts
    pacer = _pacer(clock)
    started = time.monotonic()
    await pacer.wait_until(START + timedelta(hours=3, minutes=5))  # the publisher's hook, for a message at 03:05
    took = time.monotonic() - started

    # 2 h 50 min at ten hours a second (0.28 s), then 15 min at ten minutes a second (1.5 s).
    assert 1.6 <= took <= 2.6, took
    (fast_from, fast), (slow_from, slow) = pacer.changes
    assert (fast_from, fast) == (START, FAST)
    assert slow == SLOW
    # The clock slowed down at 02:50 exactly; the pacer noticed within one of its looks (0.2 s: 2 simulated minutes).
    assert START + timedelta(hours=2, minutes=50) <= slow_from <= START + timedelta(hours=2, minutes=53), slow_from
    assert clock.pace == SLOW

    pacer.saw([(ALERT, AlertStatus.OPEN)])  # raised, nobody has acknowledged it: slow, however long it takes
    assert clock.pace == SLOW
    pacer.saw([(ALERT, AlertStatus.ACKNOWLEDGED)])  # someone is on it: nothing else waits, fast again
    assert clock.pace == FAST and pacer.changes[-1][1] == FAST


async def test_an_alert_nobody_expected_slows_the_demo_down_too():
    clock = PacedClock(START, pace=FAST)
    pacer = Pacer(clock, fast=FAST, slow=SLOW, lead=timedelta(minutes=10), expected={})
    pacer.adjust()
    assert clock.pace == FAST
    pacer.saw([("hh-0002.water_continuous.20260105T010000Z", AlertStatus.OPEN)])
    assert clock.pace == SLOW


async def test_the_clock_stands_while_the_pipeline_is_behind_it():
    judged = [START]
    wall = [0.0]  # the clock's own seconds: a loaded machine's late wake-up must not carry it past 02:50
    clock = PacedClock(START, pace=FAST, monotonic=lambda: wall[0])
    pacer = _pacer(clock, judged=lambda: judged[0])
    wall[0] += 0.2  # two simulated hours go by, but the pipeline has judged nothing newer than the start
    pacer.adjust()
    assert pacer.behind and clock.pace == 0.0
    stood = clock()
    wall[0] += 0.05
    assert clock() == stood
    judged[0] = stood  # it caught up
    pacer.adjust()
    assert not pacer.behind and clock.pace == FAST
    assert AHEAD_AT_MOST <= timedelta(minutes=30)  # an alert is never stored hours after its simulated moment


def test_at_the_default_pace_a_person_has_three_real_minutes_before_the_ladder_tells_the_family():
    options = DemoOptions()
    policy = EscalationPolicy.load()
    for ladder in policy.ladders:
        if Audience.CARE not in ladder.audiences:
            continue
        waited = timedelta(0)
        for step in ladder.steps:
            waited += step.wait
            if step.action is Action.NOTIFY_FAMILY:
                break
        assert waited.total_seconds() / options.pace >= 180, (ladder.name, waited, options.pace)
    # ...and a minute of the slow pace before the alert comes, to watch it arrive.
    assert options.approach_s >= 60


@pytest.mark.service  # the headless demo: an MQTT broker, the pipeline, the catchers
async def test_the_demo_expects_a_last_will_alert_when_the_runner_raises_it():
    """A status carries no time: on the event clock the runner tells it at the newest reading judged, and the
    replay that tells the demo when to slow down must time it so too.  Before, the replay timed the gateway's
    last will at its message (00:30 local) where the runner had the 00:15 readings as its newest: it raised
    hh-0005's meter_silent at 16:30 UTC, seen at 17:00, a quarter-hour before the 17:15 the demo expected, and
    at a small approach the alert came at the fast pace (tests/test_demo_one_time.py, once in a clean clone's
    suite: acknowledged 302 simulated seconds after it came, for 0.1 real)."""
    options = DemoOptions(households=5, days=1.5, seed=4, headless=True)
    simulation = Simulation(SimConfig(households=options.households, days=options.days, seed=options.seed, start=options.start))
    expected = expected_alerts(simulation)
    summary = await run_demo(Settings(_env_file=None), options, Console(file=io.StringIO()))  # type: ignore[call-arg]
    raised = {a["alert_id"]: datetime.fromisoformat(a["raised_at"]) for a in summary["alerts"]}  # type: ignore[index, union-attr]
    last_will = "hh-0005.meter_silent.20260105T161500Z"
    assert last_will in raised and last_will in expected
    assert expected[last_will] == raised[last_will] + LATENESS  # raised on a tick, seen once the watermark passed it
