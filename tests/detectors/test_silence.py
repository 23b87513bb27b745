"""Silent meters: a device or network problem for a technician, never about the elder."""

from __future__ import annotations

from tests.detectors.conftest import GAS, WATER, at, changes, cleared, gas, monitor, raised, water

from carewatch.domain import Audience, AlertType, MeterKind, Severity, Tick

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
