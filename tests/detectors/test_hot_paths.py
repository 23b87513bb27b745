"""The shortcuts on the detectors' hot paths answer exactly what the plain computation does.

Local quarters and midnights are remembered per time zone (detectors.routine), and so is the
04:00 that began a morning (detectors.quiet's `_spans_the_night`), the signal's
median is kept from samples held in order (detectors.meter_health), histories are packed by numpy
(detectors.history): each is checked here against the computation it stands for, across changes of
clocks and odd offsets, or odd values.
"""

from __future__ import annotations

import math
import pickle
import random
import statistics
import zlib
from array import array
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from zoneinfo import ZoneInfo

from detectors.cadence import BINS, ReportingCadence
from detectors.cadence import pack as pack_cadences
from detectors.history import PACK_VECTOR_FROM, REGISTER_SCALE, TIME_SCALE, _pack_vector, pack
from detectors.meter_health import _SHIFT, HealthLimits, MeterVitals
from detectors.quiet import _spans_the_night
from detectors.routine import day_start_s, local_quarter

ZONES = [
    UTC,
    ZoneInfo("Asia/Shanghai"),
    ZoneInfo("Europe/Berlin"),  # an hour forward in March, back in October
    ZoneInfo("Australia/Adelaide"),  # +10:30 / +9:30
    ZoneInfo("Australia/Lord_Howe"),  # a change of half an hour
    ZoneInfo("Asia/Kathmandu"),  # +5:45
    ZoneInfo("America/St_Johns"),  # -3:30 / -2:30
    timezone(timedelta(hours=5, minutes=7, seconds=30)),  # no whole number of quarters
]


def _direct(at_s: float, tz: object) -> tuple[int, int]:
    moment = datetime.fromtimestamp(at_s - 1.0, tz)  # type: ignore[arg-type]
    return moment.toordinal(), (moment.hour * 60 + moment.minute) // 15


CHANGES = [datetime(2026, 3, 29), datetime(2026, 4, 5), datetime(2026, 10, 4), datetime(2026, 10, 25), datetime(2026, 11, 1)]
"""Days the clocks change in some of the zones (Berlin, Adelaide, Lord Howe, St John's)."""


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize("around", CHANGES, ids=str)
def test_local_quarter_answers_as_the_conversion_does_across_changes_of_clocks(tz: object, around: datetime) -> None:
    start_s = around.replace(tzinfo=UTC).timestamp() - 36 * 3600
    rng = random.Random(str(tz))
    moments = [start_s + 60.0 * n for n in range(72 * 60)]  # every minute of three days
    moments += [start_s + rng.uniform(0, 72 * 3600) for _ in range(2000)]  # and fractions of seconds
    moments += [m + d for m in moments[:: 15] for d in (1.0, 0.5, 0.9999995, -0.0000004)]
    for at_s in moments:
        assert local_quarter(at_s, tz) == _direct(at_s, tz), (at_s, tz)  # type: ignore[arg-type]


@pytest.mark.parametrize("tz", ZONES, ids=str)
def test_day_start_is_the_local_midnight(tz: object) -> None:
    for ordinal in range(date(2026, 1, 1).toordinal(), date(2027, 1, 1).toordinal()):
        day = date.fromordinal(ordinal)
        expected = datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()  # type: ignore[arg-type]
        assert day_start_s(ordinal, tz) == expected  # type: ignore[arg-type]
        assert day_start_s(ordinal, tz) == expected  # type: ignore[arg-type]  # remembered, the same


def _spans_the_night_directly(since_s: float, at_s: float, tz: object) -> bool:
    local = datetime.fromtimestamp(at_s, tz)  # type: ignore[arg-type]
    if not 4 <= local.hour < 14:
        return False
    return since_s < local.replace(hour=4, minute=0, second=0, microsecond=0).timestamp()


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize("around", CHANGES, ids=str)
def test_a_remembered_morning_answers_as_the_conversion_does_across_changes_of_clocks(tz: object, around: datetime) -> None:
    start_s = around.replace(tzinfo=UTC).timestamp() - 36 * 3600
    rng = random.Random(str(tz))
    moments = [start_s + 300.0 * n for n in range(72 * 12)]  # every 5 minutes of three days
    moments += [start_s + rng.uniform(0, 72 * 3600) for _ in range(500)]  # and fractions of seconds
    for at_s in moments:
        for since_s in (at_s - 3600 * rng.uniform(0, 30), at_s - 86400.0, at_s):
            for _ in range(2):  # converted, then remembered
                assert _spans_the_night(since_s, at_s, tz) == _spans_the_night_directly(since_s, at_s, tz), (at_s, tz)  # type: ignore[arg-type]


def test_the_signal_median_is_the_median_of_the_window_whatever_the_readings() -> None:
    rng = random.Random(7)
    limits = HealthLimits(15.0, 25.0, -110.0, -105.0, 72)
    vitals, at_s = MeterVitals(), 1_700_000_000.0
    for n in range(3000):
        step = rng.choice([900.0, 900.0, 3600.0, 1800.0, 5 * 3600.0, 4 * 86400.0, -7200.0, -80 * 3600.0])
        at_s += step
        signal = None if rng.random() < 0.1 else rng.choice([-200.0, 5.0]) if rng.random() < 0.02 else rng.gauss(-110, 6)
        vitals.learn_one(at_s, None, signal, None, limits)
        if n % 50 == 0:
            vitals = pickle.loads(pickle.dumps(vitals))
        ring = vitals._signal
        samples = [] if ring is None else [v for v in ring if v != 127]
        expected = float(statistics.median(samples)) if samples else None
        assert vitals.signal_median_dbm() == expected
        assert vitals._sorted == (None if ring is None else [v + _SHIFT for v in sorted(samples)])


@pytest.mark.parametrize("interval_s", [900.0, 3600.0], ids=["fine", "coarse"])  # coarse: runs must be steady
def test_the_continuous_flow_shortcut_judges_as_the_whole_run_does(interval_s: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """ContinuousFlowRule looks at one interval before walking a run (`_may_outlast`): on random
    meters (runs of every length, gaps, uneven rates, late hours) it raises and clears exactly
    what it does when it walks every run."""
    from carewatch.domain import MeterKind
    from detectors.base import RaisedConditions
    from detectors.config import HouseholdProfile, MeterProfile
    from detectors.flow import ContinuousFlowRule
    from detectors.history import MeterHistory

    profile = HouseholdProfile(
        "hh-1", (MeterProfile("gas-1", MeterKind.GAS, interval_s), MeterProfile("gas-2", MeterKind.GAS, interval_s))
    )

    def transitions(walk_every_run: bool) -> list[tuple[str, str, float]]:
        rng = random.Random(f"flow-{interval_s}")
        rule, raised = ContinuousFlowRule(profile), RaisedConditions()
        if walk_every_run:
            monkeypatch.setattr(ContinuousFlowRule, "_may_outlast", lambda *_: True)
        histories = {"gas-1": MeterHistory(), "gas-2": MeterHistory()}
        clock = {m: 1_700_000_000.0 for m in histories}
        register = {m: 100.0 for m in histories}
        rate = {m: 0.0 for m in histories}
        out = []
        for _ in range(4000):
            meter = rng.choice(list(histories))
            if rng.random() < 0.05:  # a run starts or stops
                rate[meter] = rng.choice([0.0, 0.0, 0.3, 0.5, 2.0])
            step_s = interval_s * rng.choice([1, 1, 1, 1, 2, 7])
            clock[meter] += step_s + rng.choice([0.0, 0.0, 0.001, 1.0])
            register[meter] += rate[meter] * step_s / 3600 * rng.uniform(0.85, 1.15)
            histories[meter].insert(clock[meter], round(register[meter], 4))
            for d in rule.judge(histories, raised, MeterKind.GAS, clock[meter]):
                out.append((d.alert_id, d.transition.value, clock[meter]))
        return out

    shortcut = transitions(walk_every_run=False)
    assert len(shortcut) > 10
    assert shortcut == transitions(walk_every_run=True)


def test_a_spell_shorter_than_a_learners_shortest_unusual_is_never_found() -> None:
    """LearnedQuietRule builds no Spell for a spell shorter than every learner's `shortest_unusual_s`:
    each learner's `score_one` must find nothing in such a spell, and can find something past it."""
    from detectors.anomaly import RiverQuiet
    from detectors.quiet import QuietSpell, Spell
    from detectors.routine import Day

    rng = random.Random(13)
    learners = [QuietSpell(), RiverQuiet()]
    for learner in learners:
        assert learner.shortest_unusual_s == float("inf")  # warming up: nothing is unusual
    for date in range(739000, 739021):  # up at about 07:00, uses every hour or so, in bed by 22:00
        active, quarter = 0, 28 + rng.randint(-1, 2)
        while quarter < 88:
            active, quarter = active | 1 << quarter, quarter + rng.randint(2, 6)
        for learner in learners:
            learner.learn_one(Day(date, active, 0.5, 0.12, True))
    start_s = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
    for learner in learners:
        shortest_s = learner.shortest_unusual_s
        assert 0 < shortest_s < 24 * 3600
        found_past_it = 0
        for _ in range(300):
            since_s = start_s + rng.randrange(0, 7 * 96) * 900.0 + rng.choice([0.0, 60.0])
            assert learner.score_one(Spell(since_s, since_s, since_s + shortest_s - 1.0, UTC)) is None
            found_past_it += learner.score_one(Spell(since_s, since_s, since_s + shortest_s + 30 * 3600, UTC)) is not None
        assert found_past_it > 0


def _pack_by_the_loop(values: array, scale: float) -> bytes | array:
    """`detectors.history.pack` as the loop computes it (the path of histories shorter than PACK_VECTOR_FROM)."""
    units = [round(v * scale) for v in values]
    if any(u / scale != v for u, v in zip(units, values, strict=True)):
        return values
    return zlib.compress(array("q", (b - a for a, b in zip([0, *units], units, strict=False))).tobytes())


@pytest.mark.parametrize("scale", [TIME_SCALE, REGISTER_SCALE])
@pytest.mark.parametrize("seed", range(40))
def test_a_history_packed_by_numpy_is_byte_for_byte_the_loops(scale: float, seed: int) -> None:
    """Pickled states are compared byte for byte (benchmarks/verdicts_digest.py): numpy must give the loop's bytes,
    whole units or not, up and down, around zero and near the largest exact units."""
    rng = random.Random(seed)
    n = rng.choice([PACK_VECTOR_FROM, 17, 25, 96, 400])
    start = rng.choice([0.0, 1_767_225_600.0, 9_999_999.999, -5.0, 2.0**52 / scale - 1000])
    step = rng.choice([900.0, 0.001, 0.1 + 0.2, 1 / 3, 0.0, -0.5])
    values = array("d", (start + i * step if rng.random() > 0.05 else start - rng.random() for i in range(n)))
    expected = _pack_by_the_loop(values, scale)
    packed = _pack_vector(values, scale)
    if packed is None:  # numpy leaves values it cannot do exactly to the loop (`pack` falls back to it)
        assert pack(values, scale) == expected
    else:
        assert packed == expected


def test_numpy_leaves_values_without_exact_units_to_the_loop() -> None:
    for odd in (math.nan, math.inf, -math.inf, 2.0**60):
        values = array("d", [1.0] * PACK_VECTOR_FROM + [odd])
        assert _pack_vector(values, REGISTER_SCALE) is None


def test_cadences_pack_their_filled_bins_in_order() -> None:
    rng = random.Random(7)
    cadences = []
    for filled in (0, 1, 3, BINS):
        cadence = ReportingCadence()
        for i in rng.sample(range(BINS), filled):
            cadence.counts[i] = rng.randint(1, 8191)
        cadences.append(cadence)
    numbers = array("H")
    for cadence in cadences:  # the format: how many filled bins, then (bin, count) for each, lowest bin first
        pairs = [v for i, c in enumerate(cadence.counts) if c for v in (i, c)]
        numbers.append(len(pairs) // 2)
        numbers.extend(pairs)
    assert pack_cadences(cadences) == numbers.tobytes()
