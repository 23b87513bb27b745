"""The simulator speaks MQTT contract v1 exactly, and the same seed always says the same bytes."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carewatch.registry import Registry
from gateway_sim import Incident, IncidentKind, SimConfig, Simulation
from gateway_sim.incidents import DEFAULT_KINDS
from tests.gateway_sim.published import readings_by_meter

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 1, 5, tzinfo=SHANGHAI)
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TOPIC = re.compile(r"^carewatch/v1/gateways/([^/]+)/(readings|status)$")


def small(**overrides: object) -> Simulation:
    settings: dict[str, object] = {"households": 8, "days": 2.5, "seed": 7, "start": START} | overrides
    return Simulation(SimConfig(**settings))  # type: ignore[arg-type]


def wire(simulation: Simulation) -> list[tuple[datetime, str, bytes, bool]]:
    return [(m.sim_time, m.topic, m.payload, m.retain) for m in simulation.messages()]


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not():
    assert wire(small()) == wire(small())
    assert [p for _, _, p, _ in wire(small())] != [p for _, _, p, _ in wire(small(seed=8))]


def test_the_same_simulation_can_be_replayed():
    simulation = small()
    assert wire(simulation) == wire(simulation)


def test_every_readings_payload_follows_contract_v1():
    simulation = small(households=10)
    meters_of = {
        h["gateway_id"]: {m["meter_id"] for m in h["meters"]}  # type: ignore[index]
        for h in simulation.registry_document()["households"]  # type: ignore[union-attr]
    }
    count = 0
    for message in simulation.messages():
        gateway, channel = TOPIC.match(message.topic).groups()  # type: ignore[union-attr]
        assert gateway == message.gateway_id and IDENTIFIER.match(gateway)
        assert message.qos == 1
        if channel == "status":
            assert message.kind == "status" and message.retain
            assert json.loads(message.payload) in ({"state": "online"}, {"state": "offline"})
            continue
        assert message.kind == "readings" and not message.retain
        assert len(message.payload) <= 64 * 1024
        document = json.loads(message.payload.decode("utf-8"))
        assert document["v"] == 1
        sent_at = datetime.fromisoformat(document["sent_at"])
        assert sent_at.utcoffset() == timedelta(hours=8) and sent_at == message.sim_time
        assert 1 <= len(document["readings"]) <= 1000 and len(document["readings"]) == message.reading_count
        for reading in document["readings"]:
            assert reading["meter_id"] in meters_of[gateway]
            at = datetime.fromisoformat(reading["at"])
            assert at.utcoffset() is not None and at <= sent_at
            register = reading["register_m3"]
            assert isinstance(register, int | float) and 0 <= register < 10_000_000
            assert round(register, 3) == register, "registers have the dial's 0.001 m³ resolution"
            assert 0 <= reading["battery_pct"] <= 100 and -150 <= reading["signal_dbm"] <= 0
            assert reading["status"] in ("ok", "low_battery")
            count += 1
    assert count > 0
    for meter, readings in readings_by_meter(simulation.messages()).items():
        registers = [r.register_m3 for r in readings]
        assert registers == sorted(registers), f"{meter}'s register went backwards"
        assert len({r.at for r in readings}) == len(readings), f"{meter} sent one instant twice"


def test_readings_fall_on_the_interval_grid_in_shanghai_time():
    simulation = small(households=2, days=1.0)
    for readings in readings_by_meter(simulation.messages()).values():
        assert readings[0].at == START and readings[-1].at == START + timedelta(days=1)
        assert all(b.at - a.at == timedelta(minutes=15) for a, b in zip(readings, readings[1:], strict=False))
        assert all(r.at.utcoffset() == timedelta(hours=8) for r in readings)


def test_messages_come_in_simulated_time_order_each_gateway_online_first():
    messages = list(small().messages())
    assert [m.sim_time for m in messages] == sorted(m.sim_time for m in messages)
    first = {}
    for message in messages:
        first.setdefault(message.gateway_id, message)
    assert all(m.state == "online" and m.retain for m in first.values())
    steps = [m.step for m in messages]
    assert steps == sorted(steps)


def test_a_daily_batch_carries_the_same_readings_as_live_uploads():
    live = small(households=4, days=3.0)
    daily = small(households=4, days=3.0, upload_every_s=86400)
    readings_messages = [m for m in daily.messages() if m.kind == "readings"]
    silent = {i.household_id.replace("hh-", "gw-") for i in daily.incidents if i.kind is IncidentKind.GATEWAY_SILENT}
    per_gateway = Counter(m.gateway_id for m in readings_messages)
    assert all(count <= 4 for gateway, count in per_gateway.items() if gateway not in silent)
    live_readings, daily_readings = readings_by_meter(live.messages()), readings_by_meter(daily.messages())
    for meter, readings in live_readings.items():
        if meter.replace("gas-", "gw-").replace("wat-", "gw-") in silent:
            # Readings held when the gateway fell silent are never sent: a daily batch loses more.
            assert set(daily_readings[meter]) <= set(readings)
        else:
            assert daily_readings[meter] == readings


def test_the_registry_document_loads_in_carewatch():
    simulation = small(households=12, gas_only_households=1, water_only_households=2)
    registry = Registry.from_document(simulation.registry_document())
    assert len(registry) == 12
    household, meter = registry.meter("gas-0001")  # type: ignore[misc]
    assert household.gateway_id == "gw-0001" and meter.interval_s == 900
    kinds = [sorted(str(m.kind) for m in h.profile.meters) for h in registry.households.values()]
    assert kinds.count(["gas", "water"]) == 9 and kinds.count(["water"]) == 2 and kinds.count(["gas"]) == 1
    assert all(h.profile.timezone == SHANGHAI for h in registry.households.values())


def test_generated_incidents_include_every_kind_placed_to_be_detectable():
    simulation = Simulation(SimConfig(households=50, days=3.0, seed=3, start=START))
    incidents = simulation.incidents
    assert {i.kind for i in incidents} == set(DEFAULT_KINDS)  # the later kinds are asked for by name
    assert 4 <= len(incidents) <= 6 and len({i.household_id for i in incidents}) == len(incidents)
    end = START + timedelta(days=3)
    for incident in incidents:
        assert incident.start >= START + timedelta(days=1)
        if incident.kind is IncidentKind.INACTIVE:
            assert incident.start <= end - timedelta(days=1.25)
        if incident.end is not None:
            assert incident.end <= end
        assert incident.to_json()["kind"] == str(incident.kind)
    assert Simulation(SimConfig(households=4, days=3.0, seed=3, start=START)).incidents
    assert Simulation(SimConfig(households=50, days=3.0, seed=3, start=START, incidents=[])).incidents == []


def test_incidents_do_not_change_anyone_s_normal_life():
    with_incidents = small(households=10, days=3.0)
    without = small(households=10, days=3.0, incidents=[])
    struck = {i.household_id for i in with_incidents.incidents}
    for household_id, series in with_incidents.meter_series().items():
        if household_id not in struck:
            for a, b in zip(series, without.meter_series()[household_id], strict=True):
                assert (a.registers_l == b.registers_l).all()


def test_explicit_incidents_are_checked_against_the_households():
    with pytest.raises(ValueError, match="unknown household"):
        small(incidents=[Incident("hh-9999", IncidentKind.INACTIVE, START + timedelta(days=1))])
    with pytest.raises(ValueError, match="needs a gas meter"):
        small(households=2, gas_only_households=0, water_only_households=1,
              incidents=[Incident("hh-0002", IncidentKind.GAS_LEFT_ON, START + timedelta(days=1))])
    with pytest.raises(ValueError, match="outside the run"):
        small(incidents=[Incident("hh-0001", IncidentKind.INACTIVE, START + timedelta(days=9))])
    with pytest.raises(ValueError, match="timezone-aware"):
        Incident("hh-0001", IncidentKind.INACTIVE, datetime(2026, 1, 6))


def test_bad_configuration_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="no time zone"):
        SimConfig(start=datetime(2026, 1, 5))
    with pytest.raises(ValueError, match="multiple of interval_s"):
        SimConfig(upload_every_s=1000)


def test_each_gateway_numbers_its_readings_messages_and_starts_again_at_1_after_a_power_cycle():
    simulation = small(households=10, days=4.0)
    numbers: dict[str, list[int]] = {}
    for message in simulation.messages():
        if message.state == "offline":
            numbers.pop(message.gateway_id, None)  # the gateway's counter lives in RAM
        elif message.kind == "readings":
            numbers.setdefault(message.gateway_id, []).append(json.loads(message.payload)["seq"])
    assert numbers
    for gateway, seqs in numbers.items():
        assert seqs == list(range(1, len(seqs) + 1)), f"{gateway} numbered its messages {seqs[:10]}..."


def test_a_days_batch_is_built_when_it_is_due_not_held_from_the_night_before():
    """The merge holds one message per gateway: built ahead, every NB-IoT gateway's next batch would sit in
    memory from one night to the next (9 GB at 300,000 households in benchmarks/city.py's publisher)."""
    import tracemalloc

    simulation = small(households=300, days=1.25, batch_share=1.0, incident_share=0.0)
    start = simulation.config.start
    messages = simulation.messages()
    tracemalloc.start()
    try:
        next(messages)  # the merge has started: every gateway's series and first message made
        primed = tracemalloc.get_traced_memory()[0]
        for message in messages:  # the first night's uploads, then nothing until the next night
            if message.sim_time - start >= timedelta(hours=7):
                break
        held = tracemalloc.get_traced_memory()[0] - primed
    finally:
        tracemalloc.stop()
    next_nights = sum(len(m.payload) for m in messages if m.sim_time - start < timedelta(hours=30))
    assert next_nights > 300 * 2_000  # ≈ a day of half-hourly or hourly values from each gateway
    assert held < next_nights / 4, (held, next_nights)
