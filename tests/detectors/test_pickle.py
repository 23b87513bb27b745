"""State must pickle: Faust tables hold one HouseholdMonitor per household.

One generic check, parametrised over every detector class (found by walking the
`detectors` package, so a new class cannot dodge it): run a stream half-way,
send the object through pickle, then feed the rest to the original and to the
restored copy — their outputs and final states must be identical.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import importlib
import inspect
import pickle
import pkgutil
from array import array
from collections.abc import Iterator

import pytest
from river import base as river_base
from tests.detectors.conftest import at, eventful_days, gas, household, water

import detectors
from carewatch.domain import MeterKind, Reading, Tick
from detectors.household import HouseholdMonitor


def _detector_classes() -> list[type]:
    """Classes of the detectors package that carry state or judge: slotted,
    and not a value type (named tuple, enum, frozen dataclass)."""
    found = []
    for info in pkgutil.iter_modules(detectors.__path__):
        module = importlib.import_module(f"detectors.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or "__slots__" not in vars(cls):
                continue
            if issubclass(cls, tuple | enum.Enum) or dataclasses.is_dataclass(cls):
                continue
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__qualname__)


DETECTOR_CLASSES = _detector_classes()


def _events() -> list[Reading | Tick]:
    """The eventful days with hourly ticks, a glitch, duplicates, a conflict and a
    replaced water meter: every kind of state change."""
    events: list[Reading | Tick] = []
    for reading in eventful_days():
        events.append(reading)
        if reading.kind == MeterKind.WATER and reading.at.minute == at(0).minute:
            events.append(Tick(reading.at))
    events[200:200] = [gas(10.1, 0.0), gas(10.2, 8.2), gas(10.2, 8.2), gas(10.2, 9.9)]
    events += [water(60.25, 0.01), water(60.5, 0.02), water(60.75, 0.03), water(61, 0.04), Tick(at(64))]
    return [_with_health(n, e) if isinstance(e, Reading) and e.kind == MeterKind.WATER else e for n, e in enumerate(events)]


def _with_health(n: int, reading: Reading) -> Reading:
    """The water meter's battery runs down, its signal is weak and it reports tampering now and then."""
    status = "TAMPER" if n % 97 < 5 else "OK"
    return dataclasses.replace(reading, battery_pct=max(5.0, 40.0 - n / 20), signal_dbm=-112.0 - n % 7, status=status)


def _apply(monitor: HouseholdMonitor, event: Reading | Tick) -> object:
    return monitor.tick(event) if isinstance(event, Tick) else monitor.observe(event)


def _detections(output: object) -> tuple[object, ...]:
    return output if isinstance(output, tuple) else output.detections  # type: ignore[attr-defined]


def _parts(monitor: HouseholdMonitor) -> Iterator[tuple[str, object, object]]:
    """(slot, key or None, part) for every part of the monitor, one level deep."""
    for slot in HouseholdMonitor.__slots__:
        value = getattr(monitor, slot)
        if isinstance(value, dict):
            for key, part in value.items():
                yield slot, key, part
        else:
            yield slot, None, value


def _through_pickle(monitor: HouseholdMonitor, cls: type) -> HouseholdMonitor:
    """A copy of the monitor whose parts of class `cls` went through pickle alone
    (found at any depth: a learned cadence lives inside the silence rule's state)."""
    if cls is HouseholdMonitor:
        return pickle.loads(pickle.dumps(monitor))
    clone = copy.deepcopy(monitor)
    swapped = _swap_parts(clone, cls)
    assert swapped, f"{cls.__qualname__} is not part of a HouseholdMonitor: give it its own case"
    return clone


def _swap_parts(holder: object, cls: type) -> int:
    """Replace, inside `holder`, every part of class `cls` by its copy through pickle; how many."""
    swapped = 0
    if isinstance(holder, dict):
        slots: list[tuple[object, object]] = [(key, part) for key, part in holder.items()]
    else:
        names = [s for c in type(holder).__mro__ for s in vars(c).get("__slots__", ())]
        slots = [(name, getattr(holder, name)) for name in names if hasattr(holder, name)]
    for key, part in slots:
        if type(part) is cls:
            restored = pickle.loads(pickle.dumps(part))
            if isinstance(holder, dict):
                holder[key] = restored
            else:
                setattr(holder, str(key), restored)
            swapped += 1
        elif isinstance(part, dict) or (
            any("__slots__" in vars(c) for c in type(part).__mro__[:-1]) and not dataclasses.is_dataclass(part)
            and not isinstance(part, tuple | enum.Enum)
        ):
            swapped += _swap_parts(part, cls)
    return swapped


def _canonical(value: object) -> object:
    """State as plain values, so two states compare equal whatever objects they share
    (pickled bytes differ when one state shares a string object and the other has a copy)."""
    if isinstance(value, HouseholdMonitor):
        return _canonical(value.__getstate__())
    if isinstance(value, dict):
        return sorted((repr(k), _canonical(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, array):
        return list(value)
    slots = [s for c in type(value).__mro__ for s in vars(c).get("__slots__", ())]
    if any(isinstance(getattr(value, s, None), river_base.Estimator) for s in slots):
        return _canonical(value.__getstate__())  # a river model inside is derived from that state
    if slots and not dataclasses.is_dataclass(value):
        return (type(value).__qualname__, [(s, _canonical(getattr(value, s))) for s in slots])
    return value


def test_the_generic_check_covers_the_detector_classes() -> None:
    names = {cls.__qualname__ for cls in DETECTOR_CLASSES}
    assert {
        "HouseholdMonitor", "MeterHistory", "RaisedConditions", "InactivityRule", "MeterVitals", "MeterHealthRule", "RiverQuiet"
    } <= names


@pytest.mark.parametrize("kinds", [(MeterKind.GAS, MeterKind.WATER), (MeterKind.GAS,)], ids=["gas+water", "gas"])
@pytest.mark.parametrize("cls", DETECTOR_CLASSES, ids=lambda cls: cls.__qualname__)
def test_pickle_round_trip_mid_stream_gives_identical_subsequent_output(
    cls: type, kinds: tuple[MeterKind, ...]
) -> None:
    events = _events()
    for split in (len(events) // 4, len(events) // 2, 3 * len(events) // 4):
        original = HouseholdMonitor(household(*kinds, river_quiet=True))  # every learner, the opt-in river model too
        for event in events[:split]:
            _apply(original, event)

        restored = _through_pickle(original, cls)

        outputs = [(_apply(original, e), _apply(restored, e)) for e in events[split:]]
        assert all(mine == theirs for mine, theirs in outputs)
        assert any(_detections(mine) for mine, _ in outputs)  # the rest of the stream did something
        assert _canonical(restored) == _canonical(original)


def _pack_by_loop(values: array, scale: float) -> bytes | array:
    """`detectors.history.pack` as it was before numpy packed long histories (the stored format)."""
    import zlib

    units = [round(v * scale) for v in values]
    if any(u / scale != v for u, v in zip(units, values, strict=True)):
        return values
    return zlib.compress(array("q", (b - a for a, b in zip([0, *units], units, strict=False))).tobytes())


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 96, 1344])
def test_a_history_packs_to_the_same_bytes_by_numpy_as_by_the_loop(length: int) -> None:
    import random

    from detectors.history import REGISTER_SCALE, TIME_SCALE, pack

    rng = random.Random(42)
    cases = [
        ([1767571200.0 + 900 * i for i in range(length)], TIME_SCALE),  # whole seconds
        ([1767571200.0 + 900 * i + 0.0005 for i in range(length)], TIME_SCALE),  # not whole units: kept as they are
        ([round(100 + 0.01 * i + rng.random() / 100, 4) for i in range(length)], REGISTER_SCALE),
        ([100 + rng.random() * i for i in range(length)], REGISTER_SCALE),  # not whole units
        ([(k + 0.5) / REGISTER_SCALE for k in range(length)], REGISTER_SCALE),  # halves: rounded to even by both
        ([rng.choice([-0.0, 0.0, -12.5, 4.5e11, 2.0**60, 1e300]) for _ in range(length)], REGISTER_SCALE),  # too large: the loop
    ]
    for values, scale in cases:
        history = array("d", values)
        try:
            expected: object = _pack_by_loop(history, scale)
        except OverflowError as error:
            expected = type(error)
        try:
            packed: object = pack(history, scale)
        except OverflowError as error:
            packed = type(error)
        assert packed == expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_history_with_a_value_that_is_not_finite_still_refuses_to_pack(bad: float) -> None:
    from detectors.history import REGISTER_SCALE, pack

    with pytest.raises((ValueError, OverflowError)):
        pack(array("d", [1.0] * 20 + [bad]), REGISTER_SCALE)
