"""The daily life of an elder living alone, as gas and water use events.

Volumes follow what such a household really uses: a stove burner ~0.3 m³/h,
an instantaneous gas water heater ~1.2–1.8 m³/h while hot water runs, a shower
~5.5–8 L/min, a toilet flush ~6 L; one elder uses ~80–150 L of water and
~0.3–1.5 m³ of gas a day (more with winter space heating).  Everything is drawn
from the ``random.Random`` handed in, so one seed gives one life.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

HEATING_MONTHS = frozenset({11, 12, 1, 2, 3})


class Persona(StrEnum):
    EARLY_RISER = "early_riser"
    REGULAR = "regular"
    LATE_SLEEPER = "late_sleeper"
    NIGHT_OWL = "night_owl"
    """Up late into the night, first use of the day near eleven."""
    SHIFT_WORKER = "shift_worker"
    """Still working (a night watchman, a cleaner): alternate weeks on night shifts, out of home all night."""
    IRREGULAR = "irregular"
    """No fixed clock: wake and bed times wander by an hour or more, and frequent outings."""


@dataclass(frozen=True, slots=True)
class _Clock:
    """A persona's usual day, in local minutes after midnight."""

    wake: tuple[int, int]
    bed: tuple[int, int]
    weekend_lie_in: int
    lunch: tuple[int, int]
    dinner: tuple[int, int]


def _hm(text: str) -> int:
    """Local minutes after midnight of "HH:MM"."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _between(first: str, last: str) -> tuple[int, int]:
    return _hm(first), _hm(last)


CLOCKS: dict[Persona, _Clock] = {
    Persona.EARLY_RISER: _Clock(
        wake=_between("05:10", "06:00"), bed=_between("20:45", "21:30"), weekend_lie_in=0,
        lunch=_between("10:45", "11:30"), dinner=_between("16:45", "17:30"),
    ),
    Persona.REGULAR: _Clock(
        wake=_between("06:15", "07:15"), bed=_between("21:45", "22:30"), weekend_lie_in=20,
        lunch=_between("11:15", "12:00"), dinner=_between("17:15", "18:00"),
    ),
    Persona.LATE_SLEEPER: _Clock(
        wake=_between("07:30", "08:30"), bed=_between("23:00", "23:45"), weekend_lie_in=40,
        lunch=_between("11:45", "12:30"), dinner=_between("18:00", "18:45"),
    ),
    # Bed after midnight: minutes past 24:00 belong to the same (long) day.
    Persona.NIGHT_OWL: _Clock(
        wake=_between("09:30", "10:45"), bed=(_hm("24:30"), _hm("25:45")), weekend_lie_in=30,
        lunch=_between("12:45", "13:30"), dinner=_between("19:00", "20:00"),
    ),
    # Its day-shift weeks; night-shift weeks follow _plan_night_shift.
    Persona.SHIFT_WORKER: _Clock(
        wake=_between("05:30", "06:15"), bed=_between("21:30", "22:15"), weekend_lie_in=60,
        lunch=_between("11:30", "12:15"), dinner=_between("17:30", "18:30"),
    ),
    Persona.IRREGULAR: _Clock(
        wake=_between("06:00", "08:30"), bed=_between("21:30", "23:30"), weekend_lie_in=0,
        lunch=_between("11:00", "13:00"), dinner=_between("17:00", "19:00"),
    ),
}

VARIED_PERSONAS: dict[Persona, float] = {
    Persona.EARLY_RISER: 0.2,
    Persona.REGULAR: 0.25,
    Persona.LATE_SLEEPER: 0.1,
    Persona.NIGHT_OWL: 0.15,
    Persona.SHIFT_WORKER: 0.1,
    Persona.IRREGULAR: 0.2,
}
"""The mix of ``Habits.draw_varied``: routines a fixed 24 h rule and a learned one both must cope with."""


@dataclass(frozen=True, slots=True)
class Habits:
    """What stays the same from day to day for one household."""

    persona: Persona
    wake_min: int
    bed_min: int
    stove_m3_per_h: float
    heater_m3_per_h: float
    """Gas water heater while hot water runs (shower, hot washing)."""
    shower_l_per_min: float
    shower_chance: float
    """Chance of a shower on a given day (elders in winter do not shower daily)."""
    showers_after_lunch: bool
    """Many elders shower in the warmest part of a winter day rather than at night."""
    flushes_per_day: float
    night_flushes: float
    laundry_chance: float
    cooks_breakfast_chance: float
    family_visit_chance: float
    """Chance that a weekend lunch is cooked for visiting children (longer cooking, more dishes)."""
    space_heating: bool
    boiler_m3_per_h: float
    wake_sd_min: float = 12.0
    """Day-to-day wander of the wake-up time (minutes, one standard deviation)."""
    bed_sd_min: float = 15.0
    outing_chance: float = 0.0
    """Chance per day of a daytime outing (market, park, a friend's home): hours without any use."""
    outing_hours: tuple[float, float] = (1.5, 4.0)

    @classmethod
    def draw(cls, rng: random.Random) -> Habits:
        classic = [Persona.EARLY_RISER, Persona.REGULAR, Persona.LATE_SLEEPER]
        persona = rng.choices(classic, weights=[0.35, 0.45, 0.2])[0]
        return cls(**_daily_life(rng, persona))

    @classmethod
    def draw_varied(cls, rng: random.Random) -> Habits:
        """Habits from the wider mix of :data:`VARIED_PERSONAS`, with outings: the evaluation's households."""
        persona = rng.choices(list(VARIED_PERSONAS), weights=list(VARIED_PERSONAS.values()))[0]
        life = _daily_life(rng, persona)
        irregular = persona is Persona.IRREGULAR
        return cls(
            **life,
            wake_sd_min=rng.uniform(45, 75) if irregular else rng.uniform(10, 20),
            bed_sd_min=rng.uniform(45, 75) if irregular else rng.uniform(12, 25),
            outing_chance=rng.uniform(0.15, 0.3) if irregular else rng.uniform(0.0, 0.12),
            outing_hours=(2.0, 6.0) if irregular else (1.5, 4.0),
        )


def _daily_life(rng: random.Random, persona: Persona) -> dict[str, object]:
    """The habits every persona has, drawn in a fixed order (one seed, one life)."""
    clock = CLOCKS[persona]
    return {
        "persona": persona,
        "wake_min": rng.randint(*clock.wake),
        "bed_min": rng.randint(*clock.bed),
        "stove_m3_per_h": rng.uniform(0.25, 0.38),
        "heater_m3_per_h": rng.uniform(1.2, 1.8),
        "shower_l_per_min": rng.uniform(5.5, 8.0),
        "shower_chance": rng.uniform(0.3, 0.6),
        "showers_after_lunch": rng.random() < 0.4,
        "flushes_per_day": rng.uniform(3.0, 5.0),
        "night_flushes": rng.uniform(0.3, 1.5),
        "laundry_chance": rng.uniform(0.12, 0.3),
        "cooks_breakfast_chance": rng.uniform(0.6, 0.95),
        "family_visit_chance": rng.uniform(0.1, 0.5),
        "space_heating": rng.random() < 0.3,
        "boiler_m3_per_h": rng.uniform(0.8, 1.3),
    }


@dataclass(frozen=True, slots=True)
class UseEvent:
    """Gas and/or water drawn at a steady rate for whole minutes."""

    start_min: int
    """Minutes after the start of the run."""
    minutes: int
    gas_m3_per_min: float
    water_m3_per_min: float
    activity: str

    @property
    def end_min(self) -> int:
        return self.start_min + self.minutes


class _Day:
    """Collects one local day's events, placed by local clock time."""

    def __init__(self, origin_min: int):
        self.origin_min = origin_min
        self.events: list[UseEvent] = []

    def use(
        self, at_local_min: float, minutes: int, activity: str, *, gas_m3_per_h: float = 0.0, water_l: float = 0.0
    ) -> None:
        minutes = max(1, int(minutes))
        self.events.append(
            UseEvent(
                start_min=self.origin_min + int(at_local_min),
                minutes=minutes,
                gas_m3_per_min=gas_m3_per_h / 60.0,
                water_m3_per_min=water_l / 1000.0 / minutes,
                activity=activity,
            )
        )


def plan_life(
    habits: Habits, rng: random.Random, run_start: datetime, run_minutes: int, zone: ZoneInfo
) -> list[UseEvent]:
    """Every use event of a normal life over the run, in time order, clipped to the run."""
    local_start = run_start.astimezone(zone)
    first = local_start.date() - timedelta(days=1)  # yesterday's night-time flushes reach into the run
    days = run_minutes // 1440 + 2
    events: list[UseEvent] = []
    for offset in range(days + 1):
        day = first + timedelta(days=offset)
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        # Subtract in UTC: Python subtracts two times of one zone as wall-clock times, wrong across DST.
        origin = int((midnight.astimezone(UTC) - local_start.astimezone(UTC)).total_seconds() // 60)
        events.extend(_plan_day(habits, rng, day, origin))
    kept = [e for e in events if 0 <= e.start_min < run_minutes]
    return sorted(kept, key=lambda e: (e.start_min, e.activity))


def _plan_day(h: Habits, rng: random.Random, day: date, origin_min: int) -> list[UseEvent]:
    if h.persona is Persona.SHIFT_WORKER and day.isocalendar().week % 2:
        return _plan_night_shift(h, rng, day, origin_min)
    d = _Day(origin_min)
    weekend = day.weekday() >= 5
    clock = CLOCKS[h.persona]
    wake = h.wake_min + rng.gauss(0, h.wake_sd_min) + (clock.weekend_lie_in if weekend else 0)
    bed = h.bed_min + rng.gauss(0, h.bed_sd_min)
    stove = h.stove_m3_per_h * rng.uniform(0.9, 1.1)

    # Morning: toilet, washing with hot water, a kettle for the thermos, breakfast.
    d.use(wake + rng.uniform(1, 4), 1, "toilet_flush", water_l=rng.uniform(5.5, 6.5))
    if rng.random() < 0.7:
        d.use(wake + rng.uniform(6, 10), 2, "hot_wash", water_l=rng.uniform(2.5, 4.0), gas_m3_per_h=h.heater_m3_per_h)
    else:
        d.use(wake + rng.uniform(6, 10), 2, "wash", water_l=rng.uniform(2.0, 3.5))
    kettle_at = wake + rng.uniform(12, 20)
    d.use(kettle_at, 1, "kettle_fill", water_l=rng.uniform(1.5, 2.2))
    d.use(kettle_at + 1, rng.randint(7, 11), "kettle_boil", gas_m3_per_h=stove)
    breakfast = wake + rng.uniform(30, 55)
    if rng.random() < h.cooks_breakfast_chance:
        d.use(breakfast, 1, "rinse", water_l=rng.uniform(1.0, 2.0))
        d.use(breakfast + 1, rng.randint(10, 20), "cook_breakfast", gas_m3_per_h=stove * 0.8)
    d.use(breakfast + rng.uniform(35, 45), 2, "dishes", water_l=rng.uniform(3.0, 5.0))

    # Midday: lunch (bigger on weekends when the children visit), dishes.
    visit = weekend and rng.random() < h.family_visit_chance
    lunch = rng.uniform(*clock.lunch)
    d.use(lunch, 1, "wash_rice", water_l=rng.uniform(1.5, 3.0))
    lunch_cooking = rng.randint(45, 75) if visit else rng.randint(20, 40)
    d.use(lunch + 2, lunch_cooking, "cook_lunch", gas_m3_per_h=stove)
    after_lunch = lunch + 2 + lunch_cooking + rng.uniform(20, 35)
    _dishes(d, rng, h, after_lunch, big=visit)

    # Afternoon: tea, maybe a shower in the warm hours, maybe laundry or mopping.
    if rng.random() < 0.5:
        tea = rng.uniform(*_between("14:30", "16:00"))
        d.use(tea, 1, "kettle_fill", water_l=rng.uniform(1.0, 1.8))
        d.use(tea + 1, rng.randint(6, 9), "kettle_boil", gas_m3_per_h=stove)
    shower = rng.random() < h.shower_chance
    if shower and h.showers_after_lunch:
        _shower(d, rng, h, rng.uniform(*_between("13:30", "15:00")))
    if rng.random() < h.laundry_chance:
        # A small washer: wash and two rinses, spread over the better part of an hour.
        at = rng.uniform(*_between("09:30", "10:15") if rng.random() < 0.5 else _between("15:00", "16:00"))
        for _ in range(3):
            d.use(at, 2, "laundry_fill", water_l=rng.uniform(10, 13))
            at += rng.uniform(12, 18)
    if rng.random() < 0.3:
        d.use(rng.uniform(*_between("09:00", "16:00")), 1, "mop_bucket", water_l=rng.uniform(5, 8))

    # Evening: dinner (sometimes just reheating lunch's leftovers), washing up, a shower or a foot soak.
    dinner = rng.uniform(*clock.dinner)
    d.use(dinner, 1, "rinse", water_l=rng.uniform(1.0, 2.5))
    reheat = rng.random() < 0.3
    dinner_cooking = rng.randint(10, 15) if reheat else rng.randint(20, 40)
    d.use(dinner + 2, dinner_cooking, "cook_dinner", gas_m3_per_h=stove)
    _dishes(d, rng, h, dinner + 2 + dinner_cooking + rng.uniform(20, 35), big=False)
    if shower and not h.showers_after_lunch:
        _shower(d, rng, h, rng.uniform(_hm("19:00"), max(_hm("19:01"), bed - 40)))
    elif rng.random() < 0.5:
        d.use(bed - rng.uniform(45, 70), 1, "foot_soak", water_l=rng.uniform(4, 6), gas_m3_per_h=h.heater_m3_per_h)
    d.use(bed - rng.uniform(8, 15), 2, "wash", water_l=rng.uniform(1.0, 2.0))
    d.use(bed - rng.uniform(1, 5), 1, "toilet_flush", water_l=rng.uniform(5.5, 6.5))

    # Toilet visits through the day and the night, most followed by washing hands.
    visits = _count(rng, h.flushes_per_day + (1.5 if visit else 0.0))
    for _ in range(visits):
        _toilet(d, rng, rng.uniform(wake + 60, bed - 20))
    for _ in range(_count(rng, h.night_flushes)):
        _toilet(d, rng, rng.uniform(bed + 60, wake + 1440 - 30), wash_chance=0.3)

    if h.space_heating and day.month in HEATING_MONTHS:
        cold = rng.uniform(0.75, 1.25)
        _heating(d, rng, h, wake + 5, wake + rng.uniform(120, 170), cold)
        _heating(d, rng, h, _hm("17:00") + rng.uniform(0, 40), bed - 15, cold)
    if h.persona is Persona.SHIFT_WORKER and not weekend:
        _out(d, wake + 75, _hm("16:45") + rng.gauss(0, 15))  # at work on a day-shift week
    elif h.outing_chance and rng.random() < h.outing_chance:
        hours = rng.uniform(*h.outing_hours)
        earliest, latest = wake + 90, bed - 120 - hours * 60
        if latest > earliest:
            leave = rng.uniform(earliest, latest)
            _out(d, leave, leave + hours * 60)
    return d.events


def _out(d: _Day, leave_local_min: float, back_local_min: float) -> None:
    """Out of home: nothing is used meanwhile (the heating is turned down too)."""
    leave, back = d.origin_min + leave_local_min, d.origin_min + back_local_min
    d.events = [e for e in d.events if e.end_min <= leave or e.start_min >= back]


def _plan_night_shift(h: Habits, rng: random.Random, day: date, origin_min: int) -> list[UseEvent]:
    """A night-shift day: home from work in the morning, asleep until the afternoon, out again at night."""
    d = _Day(origin_min)
    stove = h.stove_m3_per_h * rng.uniform(0.9, 1.1)
    home = _hm("06:40") + rng.gauss(0, 15)
    d.use(home + rng.uniform(2, 6), 1, "toilet_flush", water_l=rng.uniform(5.5, 6.5))
    _shower(d, rng, h, home + rng.uniform(8, 15))
    d.use(home + rng.uniform(30, 40), 1, "kettle_fill", water_l=rng.uniform(1.5, 2.2))
    d.use(home + rng.uniform(41, 45), rng.randint(10, 18), "cook_breakfast", gas_m3_per_h=stove)
    d.use(home + rng.uniform(70, 80), 2, "dishes", water_l=rng.uniform(3.0, 5.0))
    d.use(home + rng.uniform(85, 95), 1, "toilet_flush", water_l=rng.uniform(5.5, 6.5))
    up = _hm("14:30") + rng.gauss(0, 20)
    d.use(up + rng.uniform(1, 4), 1, "toilet_flush", water_l=rng.uniform(5.5, 6.5))
    d.use(up + rng.uniform(6, 10), 2, "wash", water_l=rng.uniform(2.0, 3.5))
    meal = up + rng.uniform(40, 70)
    d.use(meal, 1, "wash_rice", water_l=rng.uniform(1.5, 3.0))
    cooking = rng.randint(25, 45)
    d.use(meal + 2, cooking, "cook_dinner", gas_m3_per_h=stove)
    _dishes(d, rng, h, meal + 2 + cooking + rng.uniform(20, 35), big=False)
    leave = _hm("21:20") + rng.gauss(0, 10)
    for _ in range(_count(rng, 2.0)):
        _toilet(d, rng, rng.uniform(up + 30, leave - 30))
    d.use(leave - rng.uniform(20, 30), 1, "kettle_fill", water_l=rng.uniform(1.0, 1.5))
    d.use(leave - rng.uniform(10, 18), rng.randint(6, 9), "kettle_boil", gas_m3_per_h=stove)
    d.use(leave - rng.uniform(2, 6), 1, "toilet_flush", water_l=rng.uniform(5.5, 6.5))
    if h.space_heating and day.month in HEATING_MONTHS:
        _heating(d, rng, h, home + 5, home + rng.uniform(60, 90), rng.uniform(0.75, 1.25))
        _heating(d, rng, h, up + 5, leave - 20, rng.uniform(0.75, 1.25))
    return d.events


def _dishes(d: _Day, rng: random.Random, h: Habits, at: float, *, big: bool) -> None:
    water = rng.uniform(12, 18) if big else rng.uniform(4, 7)
    if rng.random() < 0.4:  # greasy pans get hot water from the gas heater
        d.use(at, 2, "dishes_hot", water_l=water * 0.4, gas_m3_per_h=h.heater_m3_per_h)
        d.use(at + 2, 3, "dishes", water_l=water * 0.6)
    else:
        d.use(at, 4, "dishes", water_l=water)


def _shower(d: _Day, rng: random.Random, h: Habits, at: float) -> None:
    minutes = rng.randint(6, 11)
    d.use(at, minutes, "shower", water_l=h.shower_l_per_min * minutes, gas_m3_per_h=h.heater_m3_per_h)


def _toilet(d: _Day, rng: random.Random, at: float, wash_chance: float = 0.75) -> None:
    d.use(at, 1, "toilet_flush", water_l=rng.uniform(5.5, 6.5))
    if rng.random() < wash_chance:
        d.use(at + 1, 1, "wash_hands", water_l=rng.uniform(0.8, 1.8))


def _heating(d: _Day, rng: random.Random, h: Habits, begin: float, end: float, cold: float) -> None:
    """A wall-hung boiler cycling: short burns, then 30+ min pauses while the radiators give off heat.

    The pauses are what keep normal heating from looking like a burner left on:
    each one holds at least one whole reading interval without gas.
    """
    at = begin
    while at < end:
        burn = max(4, round(rng.uniform(6, 11) * cold))
        d.use(at, burn, "space_heating", gas_m3_per_h=h.boiler_m3_per_h)
        at += burn + rng.uniform(30, 45)


def _count(rng: random.Random, mean: float) -> int:
    """A small Poisson-like count (whole part plus a chance for the fraction), varied by ±1."""
    base = int(mean) + (1 if rng.random() < mean - int(mean) else 0)
    return max(0, base + rng.choice((-1, 0, 0, 1)))
