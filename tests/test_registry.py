"""The household registry is validated once, with errors that name the household and field."""

from __future__ import annotations

import pytest

from carewatch.domain import MeterKind
from carewatch.registry import Registry, RegistryError
from detectors.config import RuleConfig


def document(**household: object) -> dict[str, object]:
    base = {"household_id": "hh-1", "meters": [{"meter_id": "gas-1", "kind": "gas"}]}
    return {"version": 1, "households": [base | household]}


def test_a_registry_maps_meters_to_households_with_rule_overrides():
    registry = Registry.from_document(
        document(gateway_id="gw-1", rules={"gas_continuous_h": 2}, timezone="Asia/Tokyo",
                 meters=[{"meter_id": "gas-1", "kind": "gas", "interval_s": 1800}, {"meter_id": "wat-1", "kind": "water"}])
    )
    household, meter = registry.meter("wat-1")  # type: ignore[misc]
    assert household.household_id == "hh-1" and meter.kind is MeterKind.WATER
    profile = registry.households["hh-1"].profile
    assert profile.rules.gas_continuous_h == 2
    assert profile.rules.gas_min_use_m3 == RuleConfig().gas_min_use_m3
    assert profile.meter("gas-1").interval_s == 1800  # type: ignore[union-attr]
    assert str(profile.timezone) == "Asia/Tokyo"
    assert registry.meter("nope") is None


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"household_id": "bad id"}, "households.0.household_id"),
        ({"meters": []}, "households.0.meters"),
        ({"meters": [{"meter_id": "gas-1", "kind": "steam"}]}, "households.0.meters.0.kind"),
        ({"rules": {"gas_min_use": 1}}, "households.0.rules.gas_min_use"),
        ({"rules": {"gas_continuous_h": -1}}, "households.0.rules.gas_continuous_h"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"meters": [{"meter_id": "gas-1", "kind": "gas"}, {"meter_id": "gas-1", "kind": "gas"}]}, "listed twice"),
        ({"rules": {"battery_low_pct": 30}}, "battery_ok_pct (25) must not be below battery_low_pct (30)"),
        ({"rules": {"weak_signal_dbm": -100, "signal_ok_dbm": -104}}, "signal_ok_dbm (-104) must not be below weak_signal_dbm (-100)"),
        ({"rules": {"battery_low_pct": 120}}, "households.0.rules.battery_low_pct"),
    ],
)
def test_invalid_registries_are_refused_naming_the_problem(change, names):
    with pytest.raises(RegistryError, match="invalid household registry") as raised:
        Registry.from_document(document(**change))
    assert names in str(raised.value)


def test_meter_health_thresholds_are_per_household_rules():
    rules = Registry.from_document(document(rules={"battery_low_pct": 20, "battery_ok_pct": 30, "weak_signal_days": 2})).households["hh-1"].profile.rules
    assert (rules.battery_low_pct, rules.battery_ok_pct, rules.weak_signal_days, rules.weak_signal_dbm) == (20, 30, 2, -120)


def test_a_meter_in_two_households_is_refused():
    doc = document()
    doc["households"].append({"household_id": "hh-2", "meters": [{"meter_id": "gas-1", "kind": "gas"}]})  # type: ignore[attr-defined]
    with pytest.raises(RegistryError, match="meter 'gas-1' is listed twice"):
        Registry.from_document(doc)


def test_a_missing_registry_file_says_which_setting_to_fix(tmp_path):
    with pytest.raises(RegistryError, match="CAREWATCH_REGISTRY_PATH"):
        Registry.load(tmp_path / "nope.json")


def test_learning_can_be_switched_off_per_household():
    registry = Registry.from_document(document(rules={"learned": False}))

    assert registry.households["hh-1"].profile.rules.learned is False
    assert Registry.from_document(document()).households["hh-1"].profile.rules.learned is True


@pytest.mark.parametrize("value", ["no", 0])
def test_learned_must_be_true_or_false(value):
    with pytest.raises(RegistryError, match="households.0.rules.learned"):
        Registry.from_document(document(rules={"learned": value}))


def test_the_river_model_is_opt_in_per_household():
    registry = Registry.from_document(document(rules={"river_quiet": True}))

    assert registry.households["hh-1"].profile.rules.river_quiet is True
    assert Registry.from_document(document()).households["hh-1"].profile.rules.river_quiet is False
    with pytest.raises(RegistryError, match="households.0.rules.river_quiet"):
        Registry.from_document(document(rules={"river_quiet": "yes"}))
