"""The evaluation's variety: unusual routines, daily NB-IoT batches, lost readings, planned absences."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carewatch.registry import Registry
from gateway_sim import Incident, IncidentKind, SimConfig, Simulation
from gateway_sim.routines import Persona
from tests.gateway_sim.published import readings_by_meter

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 1, 5, tzinfo=SHANGHAI)


def varied(**overrides: object) -> Simulation:
    settings: dict[str, object] = {"households": 30, "days": 8.0, "seed": 3, "start": START, "varied_routines": True}
    return Simulation(SimConfig(**(settings | overrides)))  # type: ignore[arg-type]


def first_use_hours(simulation: Simulation, household_index: int) -> list[float]:
    """Local hour of the first gas use after 04:00 each day (the morning kettle; night-time toilet visits use no gas)."""
    gas = next(s for s in simulation.meter_series()[f"hh-{household_index:04d}"] if s.meter.kind == "gas")
    firsts = []
    for day in range(1, int(simulation.config.days)):
        ticks = range(day * 96 + 16, day * 96 + 96)  # 04:00 to midnight
        first = next((t for t in ticks if gas.registers_l[t] > gas.registers_l[t - 1]), None)
        if first is not None:
            firsts.append((first - day * 96) / 4)
    return firsts


def test_varied_routines_include_night_owls_shift_workers_and_irregular_days() -> None:
    simulation = varied(households=60, days=2.0)

    personas = Counter(h.habits.persona for h in simulation.households)

    assert {Persona.NIGHT_OWL, Persona.SHIFT_WORKER, Persona.IRREGULAR} <= set(personas)
    assert sum(h.habits.outing_chance > 0 for h in simulation.households) > 30


def test_a_night_owl_starts_the_day_hours_after_an_early_riser() -> None:
    simulation = varied()
    owl = next(h.index for h in simulation.households if h.habits.persona is Persona.NIGHT_OWL)
    early = next(h.index for h in simulation.households if h.habits.persona is Persona.EARLY_RISER)

    assert min(first_use_hours(simulation, owl)) > max(first_use_hours(simulation, early)) + 2


def test_a_shift_worker_on_night_shifts_uses_nothing_at_home_through_the_night() -> None:
    simulation = varied(days=14.0)
    worker = next(h for h in simulation.households if h.habits.persona is Persona.SHIFT_WORKER)
    water = next(s for s in simulation.meter_series()[worker.household_id] if s.meter.kind == "water")
    night_use = []
    for day in range(13):
        night = water.registers_l[day * 96 + 94 : day * 96 + 96 + 24]  # 23:30 to 06:00
        night_use.append(int(night[-1] - night[0]))
    assert 0 in night_use and max(night_use) > 0  # some weeks at work all night, others at home


def test_classic_households_are_untouched_by_the_new_options_being_off() -> None:
    classic = Simulation(SimConfig(households=5, days=2.0, seed=3, start=START))

    assert all(h.habits.persona in (Persona.EARLY_RISER, Persona.REGULAR, Persona.LATE_SLEEPER) for h in classic.households)
    assert all(not h.daily_batch and h.read_every_ticks == 1 for h in classic.households)
    assert classic.absences == []


def test_a_daily_batch_gateway_uploads_a_day_of_hourly_or_half_hourly_values_once_a_day_with_jitter() -> None:
    simulation = varied(households=6, days=5.0, batch_share=1.0, batch_upload_hour=2.0, batch_jitter_h=4.0, incidents=[])
    messages = list(simulation.messages())
    registry = Registry.from_document(simulation.registry_document())

    for household in simulation.households:
        sent = [m for m in messages if m.gateway_id == household.gateway_id and m.kind == "readings"]
        local_hours = [m.sim_time.hour + m.sim_time.minute / 60 for m in sent[:-1]]  # the last: what is left at the end
        assert len(sent) == 6 and all(2.0 <= hour <= 6.0 for hour in local_hours)
        assert len({round(hour, 1) for hour in local_hours}) > 1  # the slot wanders
        every_s = 900 * household.read_every_ticks
        assert every_s in (1800, 3600)
        meters = registry.households[household.household_id].profile.meters
        assert all(m.interval_s == every_s and m.upload_every_s == 86400 for m in meters)
        first_day = json.loads(sent[2].payload)["readings"]  # the 2nd daily batch: from one slot to the next
        times = sorted({datetime.fromisoformat(r["at"]) for r in first_day})
        assert all(b - a == timedelta(seconds=every_s) for a, b in zip(times, times[1:], strict=False))
        assert len(times) >= (86400 - 4 * 3600) // every_s  # about a day in one upload


def test_lost_readings_are_never_sent_and_the_same_seed_loses_the_same_ones() -> None:
    lossy = varied(households=4, days=3.0, reading_loss=0.03)
    clean = varied(households=4, days=3.0)

    lossy_counts = {m: len(r) for m, r in readings_by_meter(lossy.messages()).items()}
    clean_counts = {m: len(r) for m, r in readings_by_meter(clean.messages()).items()}

    assert all(lossy_counts[m] < clean_counts[m] for m in clean_counts)
    assert [m.payload for m in lossy.messages()] == [m.payload for m in varied(households=4, days=3.0, reading_loss=0.03).messages()]


def test_during_a_planned_absence_the_registers_stand_still_and_the_truth_records_it() -> None:
    simulation = varied(households=20, days=10.0, away_share=0.5, incident_lead_days=3.0)
    readings = readings_by_meter(simulation.messages())

    assert simulation.absences
    struck = {i.household_id for i in simulation.incidents}
    for absence in simulation.absences:
        assert absence.household_id not in struck
        assert absence.start >= START + timedelta(days=3) and timedelta(days=1) <= absence.end - absence.start <= timedelta(days=7)
        number = absence.household_id[3:]
        for meter in (f"gas-{number}", f"wat-{number}"):
            inside = {r.register_m3 for r in readings[meter] if absence.start + timedelta(minutes=15) <= r.at <= absence.end}
            assert len(inside) == 1, meter
    assert simulation.truth_document()["absences"][0]["household_id"] == simulation.absences[0].household_id


def test_generated_incidents_follow_the_kinds_the_lead_and_the_inactivity_length() -> None:
    kinds = [IncidentKind.INACTIVE, IncidentKind.INACTIVE, IncidentKind.GAS_LEFT_ON]
    simulation = varied(households=30, days=20.0, incident_share=0.5, incident_kinds=kinds, incident_lead_days=14.0, inactive_hours=72.0)

    found = Counter(i.kind for i in simulation.incidents)

    assert set(found) == {IncidentKind.INACTIVE, IncidentKind.GAS_LEFT_ON}
    assert found[IncidentKind.INACTIVE] == 2 * found[IncidentKind.GAS_LEFT_ON]
    assert all(i.start >= START + timedelta(days=14) for i in simulation.incidents)
    for incident in (i for i in simulation.incidents if i.kind is IncidentKind.INACTIVE):
        assert incident.end - incident.start == timedelta(hours=72)
        assert incident.end <= simulation.config.end


@pytest.mark.parametrize("name", ["batch_share", "reading_loss", "away_share"])
def test_shares_outside_zero_to_one_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        SimConfig(**{name: 1.5})  # type: ignore[arg-type]


def test_restless_nights_flush_about_every_hour_of_the_elder_s_night() -> None:
    onset = START + timedelta(days=3, hours=12)
    restless = Incident("hh-0001", IncidentKind.NIGHT_RESTLESS, onset, onset + timedelta(hours=48))
    simulation = varied(households=1, days=6.0, incidents=[restless])
    calm = varied(households=1, days=6.0, incidents=[])
    habits = simulation.households[0].habits
    water = {s.meter.kind: s for s in simulation.meter_series()["hh-0001"]}["water"].registers_l
    usual = {s.meter.kind: s for s in calm.meter_series()["hh-0001"]}["water"].registers_l

    for night in (3, 4):  # the two nights, from 90 min after bedtime to an hour before rising
        span = slice(night * 96 + (habits.bed_min + 90) // 15, (night + 1) * 96 + (habits.wake_min - 60) // 15)
        hours = (span.stop - span.start) / 4
        extra = (water[span.stop] - water[span.start]) - (usual[span.stop] - usual[span.start])
        assert 5.5 * (hours - 1) * 60 / 75 <= extra <= 6.5 * (hours + 1) * 60 / 45, (night, hours, extra)


def test_a_decline_brings_use_down_to_about_a_third() -> None:
    onset = START + timedelta(days=2)
    decline = Incident("hh-0001", IncidentKind.DECLINE, onset, onset + timedelta(days=12))
    simulation = varied(households=1, days=14.0, incidents=[decline])
    calm = varied(households=1, days=14.0, incidents=[])
    for kind in ("gas", "water"):
        low = {s.meter.kind: s for s in simulation.meter_series()["hh-0001"]}[kind].registers_l
        usual = {s.meter.kind: s for s in calm.meter_series()["hh-0001"]}[kind].registers_l
        week = slice(8 * 96, 13 * 96)  # after the five days of falling use
        ratio = (low[week.stop] - low[week.start]) / (usual[week.stop] - usual[week.start])
        assert 0.3 <= ratio <= 0.4, (kind, ratio)
