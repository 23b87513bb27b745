"""The evaluation harness computes its figures right: tiny hand-made cases, then one small replay."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from carewatch.domain import AlertType
from carewatch.cli.evaluation import KindScore, RaisedAlert, TruthIncident, score
from carewatch.cli.evaluation.matching import nearest_rank
from carewatch.cli.evaluation.replay import DETECTOR_SETS, replay
from gateway_sim import Incident, IncidentKind, SimConfig, Simulation

T0 = datetime(2026, 1, 19, tzinfo=UTC)
PERIOD = (T0, T0 + timedelta(days=10))


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def alert(household: str, alert_type: AlertType, raised_h: float) -> RaisedAlert:
    return RaisedAlert(f"{household}.{alert_type}.{raised_h}", household, alert_type, h(raised_h - 1), h(raised_h))


def inactive(household: str, start_h: float, hours: float = 72.0) -> TruthIncident:
    return TruthIncident(household, "inactive", h(start_h), h(start_h + hours))


def test_recall_counts_incidents_with_an_alert_of_their_kind_from_start_to_a_day_after_the_end() -> None:
    incidents = [inactive("a", 10), inactive("b", 10), inactive("c", 10), inactive("d", 10)]
    alerts = [
        alert("a", AlertType.NO_ACTIVITY_24H, 30),
        alert("b", AlertType.NO_GAS_24H, 20),  # a warning of the family counts
        alert("c", AlertType.GAS_CONTINUOUS, 20),  # not of the family
        alert("d", AlertType.NO_ACTIVITY_24H, 107),  # a day after the elder was found (10 + 72 h)
    ]

    card = score(incidents, alerts, "abcd", PERIOD)

    assert card.kinds["inactive"].incidents == 4
    assert card.kinds["inactive"].recall == 0.5
    late = score([inactive("e", 10)], [alert("e", AlertType.NO_ACTIVITY_24H, 10 + 72 + 20)], ["e"], PERIOD)
    assert late.kinds["inactive"].delays_h == (92.0,)  # told by the next daily batch: late, but told
    assert sorted(card.kinds["inactive"].delays_h) == [10.0, 20.0]


def test_the_delay_is_to_the_first_alert_of_the_family() -> None:
    alerts = [alert("a", AlertType.NO_ACTIVITY_24H, 34), alert("a", AlertType.NO_GAS_24H, 28)]

    card = score([inactive("a", 10)], alerts, ["a"], PERIOD)

    assert card.kinds["inactive"].delays_h == (18.0,)


def test_median_and_nearest_rank_p90_on_hand_made_delays() -> None:
    odd = KindScore("inactive", 5, (4.0, 1.0, 3.0, 2.0, 10.0))
    even = KindScore("inactive", 4, (1.0, 2.0, 3.0, 4.0))
    ten = KindScore("inactive", 10, tuple(float(d) for d in range(1, 11)))

    assert (odd.median_h, odd.p90_h) == (3.0, 10.0)
    assert (even.median_h, even.p90_h) == (2.5, 4.0)
    assert ten.p90_h == 9.0  # 9 of 10 delays are at most 9 h
    assert math.isnan(KindScore("inactive", 3, ()).median_h) and KindScore("inactive", 3, ()).recall == 0.0
    assert nearest_rank([7.0], 0.9) == 7.0


def test_false_alarms_are_care_alerts_no_incident_explains_per_100_household_days() -> None:
    alerts = [
        alert("a", AlertType.NO_ACTIVITY_24H, 50),  # explained: during a's incident
        alert("a", AlertType.NO_ACTIVITY_24H, 10 + 72 + 23),  # explained: within the grace after its end
        alert("a", AlertType.NO_ACTIVITY_24H, 10 + 72 + 25),  # after the grace: false
        alert("b", AlertType.NO_GAS_24H, 40),  # false
        alert("b", AlertType.METER_SILENT, 40),  # for a technician: never a false alarm to a family
        alert("b", AlertType.NO_GAS_24H, 24 * 11),  # outside the evaluated period
    ]

    card = score([inactive("a", 10)], alerts, ["a", "b"], PERIOD)

    assert sorted(a.household_id for a in card.false_alarms) == ["a", "b"]
    assert card.technician_alerts == 1 and card.care_alerts == 4
    assert card.technician_unexplained == 1  # no dead gateway in b: a technician's ticket for nothing
    # 20 household-days minus a's incident and grace (72 h + 24 h = 4 days)
    assert card.household_days == pytest.approx(16.0)
    assert card.false_alarms_per_100_days == pytest.approx(100 * 2 / 16)
    assert card.by_type == {"no_activity_24h": 1, "no_gas_24h": 1}


def test_an_incident_that_began_before_the_period_still_explains_its_alerts_but_is_not_scored() -> None:
    early = TruthIncident("a", "inactive", h(-30), h(20))

    card = score([early], [alert("a", AlertType.NO_ACTIVITY_24H, 5)], ["a"], PERIOD)

    assert card.false_alarms == () and "inactive" not in card.kinds
    assert card.household_days == pytest.approx(10 - 44 / 24)


def test_scorecards_of_two_runs_merge_into_one() -> None:
    one = score([inactive("a", 10)], [alert("a", AlertType.NO_ACTIVITY_24H, 30)], ["a"], PERIOD)
    two = score([inactive("b", 10)], [alert("c", AlertType.NO_GAS_24H, 30)], ["b", "c"], PERIOD)

    both = one.merged(two)

    assert both.kinds["inactive"].incidents == 2 and both.kinds["inactive"].recall == 0.5
    assert len(both.false_alarms) == 1
    assert both.household_days == pytest.approx(one.household_days + two.household_days)


def test_a_small_replay_catches_a_scripted_inactivity_with_the_seed_rule_within_a_day_and_a_half() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    onset = start + timedelta(days=2, hours=3)
    simulation = Simulation(
        SimConfig(
            households=3, days=4.0, seed=11, start=start,
            incidents=[Incident("hh-0002", IncidentKind.INACTIVE, onset, onset + timedelta(hours=40))],
        )
    )

    result = replay(simulation, DETECTOR_SETS)

    assert result.rejected == 0 and result.readings == 3 * 2 * (4 * 96 + 1)
    truth = [TruthIncident("hh-0002", "inactive", onset, onset + timedelta(hours=40))]
    for name in ("seed rule", "learned"):
        card = score(truth, result.alerts[name], ["hh-0001", "hh-0002", "hh-0003"], (start + timedelta(days=1), start + timedelta(days=4)))
        [delay] = card.kinds["inactive"].delays_h
        assert 12 <= delay <= 36, (name, delay)
        assert card.false_alarms == ()


def test_the_river_column_is_opt_in_and_every_column_reports_its_state_per_household() -> None:
    from carewatch.cli.evaluation.replay import detector_sets

    assert [d.name for d in detector_sets()] == ["seed rule", "learned"]
    sets = detector_sets(river=True)
    simulation = Simulation(SimConfig(households=3, days=3.0, seed=11, start=datetime(2026, 1, 5, tzinfo=UTC)))

    result = replay(simulation, sets)

    assert [d.name for d in sets] == ["seed rule", "learned", "learned + river"] and set(result.alerts) == {d.name for d in sets}
    assert {name: len(sizes) for name, sizes in result.state_bytes.items()} == {d.name: 3 for d in sets}
    assert all(0 < size < 4096 for sizes in result.state_bytes.values() for size in sizes)


def test_a_silent_meter_is_explained_by_a_dead_gateway_and_counted_per_100_household_days() -> None:
    dead = TruthIncident("a", "gateway_silent", h(30))
    alerts = [alert("a", AlertType.METER_SILENT, 33), alert("b", AlertType.METER_SILENT, 40)]

    card = score([dead], alerts, ["a", "b"], PERIOD)

    assert card.kinds["gateway_silent"].delays_h == (3.0,)
    assert card.technician_alerts == 2 and card.technician_unexplained == 1
    assert card.technician_unexplained_per_100_days == pytest.approx(100 / card.household_days)


def test_the_real_cadence_family_tells_a_dead_gateway_without_a_ticket_for_every_gap() -> None:
    from carewatch.cli.evaluation.scenarios import FAMILIES, SuiteConfig, run_shard, shard_config
    from carewatch.registry import Registry
    from ingest.payload import parse_readings, parse_topic

    suite = SuiteConfig(households=12, shards=1, days=24.0, warmup_days=12.0, families=("real cadence",))

    result = run_shard("real cadence", 0, suite)

    card = result.cards["learned"]
    assert result.rejected == 0
    assert card.kinds["gateway_silent"].recall == 1.0 and max(card.kinds["gateway_silent"].delays_h) < 24
    # The configured interval alone (4 h) raised about 35 tickets per 100 household-days here.
    assert card.technician_unexplained_per_100_days < 5, card.technician_unexplained
    # A learned quiet alert for an elder who was fine may happen (its rate is evaluate's to measure), but never
    # across a silent meter: every false inactivity alert rests on readings that kept coming, showing no use.
    false_quiet = [a for a in card.false_alarms if a.alert_type.is_inactivity]
    simulation = Simulation(shard_config(next(f for f in FAMILIES if f.name == "real cadence"), 0, suite))
    registry = Registry.from_document(simulation.registry_document())
    seen: dict[str, list[datetime]] = {a.household_id: [] for a in false_quiet}
    for message in simulation.messages():
        topic = parse_topic(message.topic, simulation.config.topic_prefix) if message.kind == "readings" else None
        if topic is None:
            continue
        for _, reading in parse_readings(topic.gateway_id, message.payload, registry, message.sim_time.astimezone(UTC)).readings:
            if reading.household_id in seen:
                seen[reading.household_id].append(reading.at)
    for alert in false_quiet:
        times = sorted(t for t in seen[alert.household_id] if alert.onset <= t <= alert.raised_at)
        gaps = [b - a for a, b in zip([alert.onset, *times], [*times, alert.raised_at], strict=True)]
        assert max(gaps) < timedelta(hours=3), (alert, max(gaps))


def test_the_examples_in_the_evaluation_docstrings_hold() -> None:
    import doctest

    from carewatch.cli.evaluation import matching

    assert doctest.testmod(matching).failed == 0


def test_staff_outcomes_add_a_third_column_of_the_learned_detectors_taught_by_them() -> None:
    from carewatch.cli.evaluation.replay import STAFF_TAUGHT, detector_sets

    seed, learned, taught = detector_sets((("quiet_grace_h", 1.0),), staff_outcomes=True)
    assert [s.name for s in (seed, learned, taught)] == ["seed rule", "learned", STAFF_TAUGHT]
    assert taught.staff_outcomes and not learned.staff_outcomes and taught.configure is learned.configure
    assert len(detector_sets()) == 2  # not unless asked: it costs a third replay column


def test_the_replay_tells_each_household_its_gateways_status_so_a_dead_gateway_is_told_by_its_last_will() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    dies = start + timedelta(days=2, hours=3)
    simulation = Simulation(SimConfig(
        households=3, days=3.0, seed=11, start=start, incidents=[Incident("hh-0002", IncidentKind.GATEWAY_SILENT, dies)],
    ))

    result = replay(simulation, DETECTOR_SETS)

    for name in ("seed rule", "learned"):
        [silent] = [a for a in result.alerts[name] if a.alert_type is AlertType.METER_SILENT]
        # The will, the 0.25 h grace and the replay's 0.5 h lateness: under an hour, where the household's
        # threshold (never below its 1 h prior) and the lateness made it 1.5 h at least.
        assert silent.household_id == "hh-0002" and silent.raised_at - dies < timedelta(hours=1), (name, silent)
