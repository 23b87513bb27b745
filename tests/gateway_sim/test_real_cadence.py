"""The simulator's real-cadence mode: meters that report like the real traces of issue #14."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import datetime

from gateway_sim import IncidentKind, SimConfig, Simulation
from gateway_sim.cadence import REPORT_EVERY_S, gap_shares, gappiness, reading_seconds


def _readings(simulation: Simulation) -> dict[str, list[tuple[float, float]]]:
    """(epoch seconds, register m³) of every reading sent, by meter."""
    by_meter: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for message in simulation.messages():
        if message.kind == "readings":
            for reading in json.loads(message.payload)["readings"]:
                by_meter[reading["meter_id"]].append(
                    (datetime.fromisoformat(reading["at"]).timestamp(), reading["register_m3"])
                )
    return by_meter


def test_gaps_are_as_long_and_as_frequent_as_on_the_real_traces() -> None:
    # 400 meters a month: 2 % of the intervals over 3 h, 0.5 % over 6 h, 0.06 % over a day.
    times = [reading_seconds(random.Random(n), 33 * 86400, gappiness(random.Random(-n))) for n in range(400)]
    gaps = [b - a for series in times for a, b in zip(series, series[1:], strict=False)]
    over = {h: sum(g > h * 3600 for g in gaps) / len(gaps) for h in (3, 6, 24)}

    assert 0.015 < over[3] < 0.025, over
    assert 0.0035 < over[6] < 0.0065, over
    assert 0.0003 < over[24] < 0.0010, over


def test_the_gaps_cluster_in_some_meters() -> None:
    shares = sorted(
        gap_shares(reading_seconds(random.Random(n), 33 * 86400, gappiness(random.Random(-n))))[0] for n in range(200)
    )

    # The gappiest tenth of the meters has several times the gaps of the median meter.
    assert shares[180] > 3 * shares[100]


def test_readings_come_at_irregular_minutes_about_hourly_in_pulses_and_the_registry_says_hourly() -> None:
    simulation = Simulation(SimConfig(households=8, days=4.0, seed=5, real_cadence=True, incident_share=0.0))

    readings = _readings(simulation)

    minutes = {int(at // 60) % 60 for series in readings.values() for at, _ in series}
    assert len(minutes) > 50  # not the quarter-hour
    intervals = sorted(b[0] - a[0] for series in readings.values() for a, b in zip(series, series[1:], strict=False))
    assert 0.9 * REPORT_EVERY_S < intervals[len(intervals) // 2] < 1.1 * REPORT_EVERY_S
    for household in simulation.households:
        for meter in household.meters:
            steps = {round(r * 1000) % meter.pulse_l for _, r in readings[meter.meter_id]}
            assert steps == {0}, (meter.meter_id, meter.pulse_l)
    assert {m.pulse_l for h in simulation.households for m in h.meters} == {1, 10}
    assert all(m.pulse_l == 10 for h in simulation.households for m in h.meters if m.kind == "gas")
    registry = simulation.registry_document()["households"]
    assert {m["interval_s"] for h in registry for m in h["meters"]} == {REPORT_EVERY_S}  # type: ignore[index]


def test_registers_never_go_backwards_and_a_dead_gateway_sends_nothing() -> None:
    config = SimConfig(households=6, days=5.0, seed=2, real_cadence=True, incident_share=1.0,
                       incident_kinds=(IncidentKind.GATEWAY_SILENT,), incident_lead_days=2.0)
    simulation = Simulation(config)
    silent = {i.household_id: i.start.timestamp() for i in simulation.incidents}

    readings = _readings(simulation)

    assert silent
    for household in simulation.households:
        for meter in household.meters:
            series = readings[meter.meter_id]
            assert all(a[1] <= b[1] for a, b in zip(series, series[1:], strict=False))
            if household.household_id in silent:
                assert all(at < silent[household.household_id] for at, _ in series)


def test_the_same_seed_gives_the_same_messages() -> None:
    config = SimConfig(households=3, days=2.0, seed=9, real_cadence=True)

    first = [m.payload for m in Simulation(config).messages()]

    assert first == [m.payload for m in Simulation(config).messages()]
