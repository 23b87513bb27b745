"""Silent meters: a device or network problem for a technician, never about the elder."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

from tests.detectors.conftest import GAS, WATER, at, changes, cleared, gas, household, monitor, raised, water

from carewatch.domain import Audience, AlertType, GatewayState, MeterKind, Severity, Tick, Transition
from detectors.household import HouseholdMonitor

SILENT = AlertType.METER_SILENT


def test_a_meter_is_silent_only_after_four_expected_intervals() -> None:
    target = monitor(MeterKind.GAS)
    target.observe(gas(0, 5.0))

    assert target.tick(Tick(at(1))) == ()
    [alert] = target.tick(Tick(at(1 + 1 / 60)))
    assert target.tick(Tick(at(2))) == ()  # raised once, not at every tick

    assert alert.onset == at(0) and alert.at == at(1 + 1 / 60)
    assert alert.severity is Severity.WARNING and alert.alert_type.audience is Audience.TECHNICIAN
    assert alert.explanation.en == (
        "Meter gas-0007 has sent nothing since 19:40 (expected every 15 min) "
        "— device or network problem, not an elder problem."
    )
    assert alert.explanation.zh == (
        "表具gas-0007自19:40起未上报任何数据（应每15分钟上报一次）——是设备或网络问题，不是老人出了问题。"
    )


def test_one_silent_alert_names_every_silent_meter() -> None:
    target = monitor()
    target.observe(gas(0, 5.0))
    target.observe(water(0.5, 40.0))

    [alert] = target.tick(Tick(at(2)))

    assert alert.meter_ids == (GAS, WATER) and alert.onset == at(0)
    assert alert.explanation.en.startswith("Meters gas-0007 and water-0007 have sent nothing since 19:40")


def test_a_meter_silent_later_joins_the_open_alert_without_a_new_one() -> None:
    target = monitor()
    target.observe(gas(0, 5.0))
    target.observe(water(1.5, 40.0))

    assert changes(target.tick(Tick(at(1.5)))) == [raised(SILENT)]
    assert target.tick(Tick(at(3))) == ()
    target.observe(gas(3.25, 5.0))
    [back] = target.observe(water(3.25, 40.0)).detections
    assert back.meter_ids == (GAS, WATER)


def test_a_meter_that_never_reported_is_measured_from_the_first_tick() -> None:
    target = monitor(MeterKind.GAS)

    assert target.tick(Tick(at(0))) == ()
    assert target.tick(Tick(at(1))) == ()
    [alert] = target.tick(Tick(at(1.1)))
    assert alert.onset == at(0)


def test_silence_clears_only_when_every_silent_meter_reports_again() -> None:
    target = monitor()
    target.observe(gas(0, 5.0))
    target.observe(water(0, 40.0))
    target.tick(Tick(at(2)))

    assert target.observe(gas(3, 5.0)).detections == ()
    [back] = target.observe(water(3, 40.0)).detections

    assert changes([back]) == [cleared(SILENT)] and back.at == at(3)
    assert back.explanation.en == "Meters gas-0007 and water-0007 are reporting again (22:40)."


def test_a_late_copy_of_an_old_reading_does_not_end_silence() -> None:
    target = monitor(MeterKind.GAS)
    target.observe(gas(0, 5.0))
    target.observe(gas(0.5, 5.0))
    target.tick(Tick(at(2)))

    assert target.observe(gas(0.25, 5.0)).detections == ()
    assert changes(target.observe(gas(2.25, 5.0)).detections) == [cleared(SILENT)]


def test_a_meter_silent_again_gets_a_new_alert() -> None:
    target = monitor(MeterKind.GAS)
    target.observe(gas(0, 5.0))
    [first] = target.tick(Tick(at(2)))
    target.observe(gas(2.25, 5.0))

    [second] = target.tick(Tick(at(4)))

    assert second.onset == at(2.25) and second.alert_id != first.alert_id


# --- the gateway's MQTT last will -------------------------------------------------------

GATEWAY = "gw-0007"


def _on_gateway(**rules: float) -> HouseholdMonitor:
    """Gas and water through gateway gw-0007, silent only after 16 quarter-hours (4 h) of nothing."""
    return HouseholdMonitor(dataclasses.replace(household(silent_after_intervals=16, **rules), gateway_id=GATEWAY))


def _reporting(target: HouseholdMonitor, until_h: float) -> None:
    for quarter in range(int(until_h * 4) + 1):
        target.observe(gas(quarter / 4, 5.0))
        target.observe(water(quarter / 4, 40.0))


def test_a_gateway_offline_by_its_last_will_makes_every_meter_silent_after_the_grace_not_before() -> None:
    target = _on_gateway()
    _reporting(target, 2)
    target.gateway(GatewayState(GATEWAY, False, at(2.1)))

    assert target.tick(Tick(at(2.1 + 0.2))) == ()  # within the grace (0.25 h): a reconnect would be no ticket
    [alert] = target.tick(Tick(at(2.1 + 0.3)))  # hours before the 4 h silence threshold

    assert alert.alert_type is SILENT and alert.transition is Transition.RAISED
    assert alert.alert_type.audience is Audience.TECHNICIAN and not alert.alert_type.is_inactivity
    assert alert.meter_ids == (GAS, WATER) and alert.onset == at(2)
    assert alert.facts["gateway_offline_since"] == at(2.1).isoformat()
    assert alert.explanation.en == (
        "Gateway gw-0007 went offline at 21:46 (its MQTT last will); meters gas-0007 and water-0007 have sent "
        "nothing since 21:40 — device or network problem, not an elder problem."
    )
    assert alert.explanation.zh.startswith("网关gw-0007自21:46起离线")
    assert target.tick(Tick(at(3))) == ()  # raised once


def test_without_the_last_will_the_same_silence_waits_for_the_threshold() -> None:
    target = _on_gateway()
    _reporting(target, 2)

    assert target.tick(Tick(at(2.4))) == ()
    assert target.tick(Tick(at(5.9))) == ()
    assert changes(target.tick(Tick(at(6.1)))) == [raised(SILENT)]


def test_the_gateway_online_again_and_readings_resuming_clear_the_alert() -> None:
    target = _on_gateway()
    _reporting(target, 2)
    target.gateway(GatewayState(GATEWAY, False, at(2.1)))
    [alert] = target.tick(Tick(at(2.5)))

    target.gateway(GatewayState(GATEWAY, True, at(3)))
    assert target.observe(gas(3.25, 5.0)).detections == ()
    [back] = target.observe(water(3.25, 40.0)).detections

    assert changes([back]) == [cleared(SILENT)] and back.onset == alert.onset
    assert target.tick(Tick(at(3.5))) == ()  # online and reporting: nothing raised again


def test_a_reading_newer_than_the_last_will_counts_as_the_gateway_back() -> None:
    target = _on_gateway()
    _reporting(target, 2)
    target.gateway(GatewayState(GATEWAY, False, at(2.1)))
    target.observe(gas(2.2, 5.0))  # its online status lost, but its readings came through
    target.observe(water(2.2, 40.0))

    assert target.tick(Tick(at(2.5))) == ()


def test_a_status_of_another_gateway_changes_nothing() -> None:
    target = _on_gateway()
    _reporting(target, 2)
    before = pickle.dumps(target)
    target.gateway(GatewayState("gw-0008", False, at(2.1)))

    assert pickle.dumps(target) == before
    assert target.tick(Tick(at(2.5))) == ()
    assert target.tick(Tick(at(5.9))) == ()


def test_the_retained_offline_heard_again_keeps_when_the_gateway_went() -> None:
    target = _on_gateway()
    _reporting(target, 2)
    target.gateway(GatewayState(GATEWAY, False, at(2.1)))
    target.gateway(GatewayState(GATEWAY, False, at(2.3)))  # redelivered on a reconnect of the subscriber

    assert changes(target.tick(Tick(at(2.36)))) == [raised(SILENT)]


def test_the_gateway_state_survives_pickling_and_a_monitor_without_it_pickles_as_before() -> None:
    target = _on_gateway()
    _reporting(target, 2)
    assert len(target._silence.__getstate__()) == 5  # never heard its gateway: the state of the release before
    target.gateway(GatewayState(GATEWAY, False, at(2.1)))
    restored = pickle.loads(pickle.dumps(target))

    assert changes(restored.tick(Tick(at(2.5)))) == [raised(SILENT)]
    target.gateway(GatewayState(GATEWAY, True, at(2.2)))
    assert pickle.loads(pickle.dumps(target))._silence.online


def _gappy(**rules: float) -> tuple[HouseholdMonitor, float]:
    """Gas hourly and water hourly half an hour later, each with a 3 h gap every six readings, for 60 h:
    the household's learned threshold stays at its prior (1 h), each meter's own reaches about a day."""
    target = HouseholdMonitor(
        dataclasses.replace(household(silent_warmup_gaps=8, **rules), gateway_id=GATEWAY)
    )
    hours, count = 0.0, 0
    while hours < 60:
        target.observe(gas(hours, 5.0))
        target.observe(water(hours + 0.5, 40.0))
        count += 1
        hours += 3.0 if count % 6 == 0 else 1.0
    return target, hours - 0.5  # water's newest reading


def _first_silent(target: HouseholdMonitor, from_h: float, hours: float) -> float | None:
    for quarter in range(int(hours * 4)):
        if target.tick(Tick(at(from_h + quarter / 4))):
            return quarter / 4
    return None


def test_while_its_gateway_is_online_a_household_may_wait_for_every_meter_as_for_one() -> None:
    waiting, newest_h = _gappy(silent_wait_while_online=True)
    waiting.gateway(GatewayState(GATEWAY, True, at(0)))
    default, _ = _gappy()
    default.gateway(GatewayState(GATEWAY, True, at(0)))

    assert _first_silent(default, newest_h, 30) == 1.25  # the household's threshold: a lossy radio is a ticket
    # Gas alone, silent past its own tail extrapolated (its 3 h gaps: a power law beyond the longest), which
    # reaches past a week: the most one meter waits (silent_meter_most_h), from gas's newest half an hour before.
    assert _first_silent(waiting, newest_h, 24 * 8) == 167.75


def test_waiting_while_online_still_tells_a_dead_gateway_by_its_last_will() -> None:
    waiting, newest_h = _gappy(silent_wait_while_online=True)
    waiting.gateway(GatewayState(GATEWAY, True, at(0)))
    waiting.gateway(GatewayState(GATEWAY, False, at(newest_h + 0.5)))

    assert _first_silent(waiting, newest_h, 30) == 0.75  # the will at 0.5 h, and the grace


def test_waiting_while_online_needs_the_gateway_heard_online() -> None:
    never_heard, newest_h = _gappy(silent_wait_while_online=True)

    assert _first_silent(never_heard, newest_h, 30) == 1.25  # the household's threshold, as without statuses


def test_a_monitor_pickled_before_gateways_were_heard_hears_its_gateway_once_refreshed() -> None:
    # Saved by the release before (state version 3, a profile without a gateway): gas and water
    # reporting every quarter-hour for 2 h. The runners give it the registry's profile (`refreshed`).
    with open(Path(__file__).parent / "data" / "monitor_v3.pickle", "rb") as stored:
        restored = pickle.load(stored)
    assert restored.profile.gateway_id is None and restored._silence.offline_s is None
    restored.profile = dataclasses.replace(restored.profile, gateway_id=GATEWAY)

    restored.gateway(GatewayState(GATEWAY, False, at(2.1)))

    assert changes(restored.tick(Tick(at(2.5)))) == [raised(SILENT)]


def _gaps_of_their_own(until_h: float) -> HouseholdMonitor:
    """Gas hourly on the hour and water on the half-hour until `until_h`, each now and then 6 h silent
    on its own (gas after every 20 readings, water 10 readings later): each meter's own threshold runs
    to days, the household's (whose gaps the other meter's readings keep short) to a few hours."""
    target = HouseholdMonitor(household(silent_warmup_gaps=60))
    readings = []
    for meter, offset_h, gap_after in ((gas, 0.0, 0), (water, 0.5, 10)):
        hours, count = offset_h, 0
        while hours <= until_h + offset_h:
            readings.append((hours, meter))
            count += 1
            hours += 6.0 if count % 20 == gap_after else 1.0
    for hours, meter in sorted(readings, key=lambda reading: reading[0]):
        target.observe(meter(hours, 5.0))
    return target


def _household_threshold_h(target: HouseholdMonitor) -> float:
    return target._silent.household_after_s(target._silence) / 3600


def test_a_meter_in_a_gap_of_its_own_does_not_make_the_others_ordinary_gap_a_dead_gateway() -> None:
    target = _gaps_of_their_own(120.0)
    target.observe(gas(121.0, 5.0))
    target.observe(water(123.5, 5.0))  # gas silent since 121 h: a gap of its own has begun
    assert 2 < _household_threshold_h(target) < 6  # every meter at once is told within hours ...

    # ... but here only water is late, for one of its ordinary 6 h gaps, while gas is still in its own
    assert _first_silent(target, 123.5, 6) is None
    assert target.observe(water(129.5, 5.0)).detections == ()


def test_meters_that_go_quiet_together_are_still_a_dead_gateway_within_the_households_threshold() -> None:
    target = _gaps_of_their_own(120.0)
    target.observe(gas(121.0, 5.0))
    target.observe(water(121.5, 5.0))  # both heard within their ordinary hour, then nothing from either
    threshold_h = _household_threshold_h(target)

    first_h = _first_silent(target, 121.5, 12)

    assert first_h is not None and threshold_h <= first_h <= threshold_h + 0.25


def test_a_gateway_that_dies_while_one_meter_is_in_its_own_gap_is_told_within_hours_not_by_its_tail() -> None:
    """No last will (a network server or NB-IoT platform sends none): every meter silent at once is still the
    gateway, after `silent_apart_factor` times the household's threshold, not after each meter's own days-long one."""
    target = _gaps_of_their_own(120.0)
    target.observe(gas(121.0, 5.0))
    target.observe(water(123.5, 5.0))  # gas already in a gap of its own, then nothing from either
    bound_h = 1.5 * _household_threshold_h(target)

    first_h = _first_silent(target, 123.5, 48)

    assert first_h is not None and bound_h <= first_h <= bound_h + 0.25
