"""A normal simulated life looks like an elder living alone, and never like an incident.

Judged from what is published, as carewatch sees it: 15-min registers at 0.001 m³.
"""

from __future__ import annotations

from datetime import timedelta
from statistics import mean

import pytest

from gateway_sim import Simulation
from tests.gateway_sim.published import Published, longest_flow_h, uses

DAY = 96  # readings per day at 15 min


def normal_meters(week: Simulation, readings: dict[str, list[Published]]) -> dict[str, list[Published]]:
    struck = {i.household_id for i in week.incidents}
    return {
        m.meter_id: readings[m.meter_id]
        for h in week.households
        if h.household_id not in struck
        for m in h.meters
    }


def daily_use(readings: list[Published]) -> list[float]:
    return [readings[i + DAY].register_m3 - readings[i].register_m3 for i in range(0, len(readings) - DAY, DAY)]


def test_most_households_live_normally(week: Simulation, week_readings: dict[str, list[Published]]):
    assert len(normal_meters(week, week_readings)) >= 2 * 44


def test_every_normal_household_uses_gas_and_water_in_every_24_hours(week, week_readings):
    for meter, readings in normal_meters(week, week_readings).items():
        assert len(readings) == 7 * DAY + 1
        for i in range(DAY, len(readings)):
            used = readings[i].register_m3 - readings[i - DAY].register_m3
            assert used >= 0.01, f"{meter} used only {used:.3f} m³ in the 24 h to {readings[i].at}"


def test_normal_gas_use_never_looks_like_a_burner_left_on(week, week_readings):
    for meter, readings in normal_meters(week, week_readings).items():
        if meter.startswith("gas-"):
            assert longest_flow_h(readings, 0.02) <= 3.0, meter


def test_normal_water_use_never_looks_like_a_tap_left_open(week, week_readings):
    for meter, readings in normal_meters(week, week_readings).items():
        if meter.startswith("wat-"):
            assert longest_flow_h(readings, 0.005) <= 2.0, meter


def test_daily_volumes_are_those_of_one_elder(week, week_readings):
    heated = {f"gas-{h.household_id[3:]}" for h in week.households if h.habits.space_heating}
    meters = normal_meters(week, week_readings)
    water_l = [1000 * v for m, r in meters.items() if m.startswith("wat-") for v in daily_use(r)]
    unheated_gas = [v for m, r in meters.items() if m.startswith("gas-") and m not in heated for v in daily_use(r)]
    heated_gas = [v for m, r in meters.items() if m in heated for v in daily_use(r)]
    assert 80 <= mean(water_l) <= 150 and min(water_l) >= 30 and max(water_l) < 1500
    assert 0.3 <= mean(unheated_gas) <= 1.5 and min(unheated_gas) >= 0.1
    # Winter space heating adds a lot, but stays below carewatch's 6 m³/day "high use" line.
    assert heated_gas and mean(heated_gas) > mean(unheated_gas) and max(heated_gas) < 5.0


def test_every_day_has_gas_cooking(week):
    for household in week.households:
        if household.household_id in {i.household_id for i in week.incidents}:
            continue
        (gas, _) = week.meter_series()[household.household_id]
        daily = gas.registers_l[DAY::DAY] - gas.registers_l[:-DAY:DAY]
        assert (daily >= 50).all(), household.household_id  # ≥ 0.05 m³: at least one meal cooked


# --- incidents show in the data --------------------------------------------------------


def incidents_of(week: Simulation, kind: str):  # type: ignore[no-untyped-def]
    found = [i for i in week.incidents if i.kind == kind]
    assert found, f"the default mix has no {kind}"
    return found


def test_an_inactive_elder_s_registers_stand_still(week, week_readings):
    for incident in incidents_of(week, "inactive"):
        number = incident.household_id[3:]
        for meter in (f"gas-{number}", f"wat-{number}"):
            after = [r.register_m3 for r in week_readings[meter] if r.at >= incident.start]
            assert len(after) >= DAY and len(set(after)) == 1, meter


def test_a_burner_left_on_burns_through_every_interval(week, week_readings):
    for incident in incidents_of(week, "gas_left_on"):
        readings = week_readings[f"gas-{incident.household_id[3:]}"]
        during = [used for at, used in uses(readings) if incident.start + timedelta(minutes=15) <= at <= incident.end]
        assert len(during) >= 4 * 4 - 1
        assert all(used / 0.25 >= 0.25 for used in during), "≈0.3 m³/h in every interval"
        assert longest_flow_h(readings, 0.02) > 3.0


def test_a_tap_left_open_runs_through_every_interval(week, week_readings):
    for incident in incidents_of(week, "water_left_on"):
        readings = week_readings[f"wat-{incident.household_id[3:]}"]
        during = [used for at, used in uses(readings) if incident.start + timedelta(minutes=15) <= at <= incident.end]
        assert len(during) >= 3 * 4 - 1 and all(used / 0.25 >= 0.1 for used in during)
        assert longest_flow_h(readings, 0.005) > 2.0


def test_a_silent_gateway_sends_nothing_after_it_falls_silent(week, week_messages):
    for incident in incidents_of(week, "gateway_silent"):
        gateway = "gw-" + incident.household_id[3:]
        messages = [m for m in week_messages if m.gateway_id == gateway]
        assert not [m for m in messages if m.kind == "readings" and m.sim_time >= incident.start]
        offline = [m for m in messages if m.state == "offline"]
        assert len(offline) == 1 and offline[0].sim_time == incident.start and offline[0].retain


@pytest.mark.parametrize("upload_every_s", [900, 86400])
def test_a_gateway_back_from_silence_reports_the_use_it_missed(upload_every_s):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from gateway_sim import Incident, IncidentKind, SimConfig
    from tests.gateway_sim.published import readings_by_meter

    start = datetime(2026, 1, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    silence = Incident("hh-0001", IncidentKind.GATEWAY_SILENT, start + timedelta(hours=30), start + timedelta(hours=40))
    simulation = Simulation(
        SimConfig(households=1, days=3.0, seed=5, start=start, incidents=[silence], upload_every_s=upload_every_s)
    )
    messages = list(simulation.messages())
    states = [(m.sim_time, m.state) for m in messages if m.kind == "status"]
    assert states == [(start, "online"), (silence.start, "offline"), (silence.end, "online")]
    water = readings_by_meter(messages)["wat-0001"]
    assert not [r for r in water if silence.start <= r.at < silence.end]
    before = max((r for r in water if r.at < silence.start), key=lambda r: r.at)
    after = min((r for r in water if r.at >= silence.end), key=lambda r: r.at)
    assert after.register_m3 - before.register_m3 > 0.01, "10 h of daytime life shows in the register"
