"""Any `river.anomaly` model, per household, on hourly usage features: an early warning of quiet.

`RiverQuiet` adapts a river anomaly detector to the learned detectors' protocol: it learns
closed days (`learn_one(day)`) and judges a quiet spell (`score_one(spell)`), time arriving
inside them, no clock.  What the model sees is one sample per hour of a normal day:
`{"hour": the hour's end as local clock hours, "quiet": hours since the last use then}`.
Each sample is also learned at every whole hour of quiet below its own ("quiet for at least
L hours at this hour"), so the density the model learns falls as a spell grows longer: a
spell is unusual for being long, never for being short (a toilet visit at 01:00 makes the
03:00 spell short, which is no incident).  Every model sees the same samples: HalfSpaceTrees,
LODA, a pipeline with a scaler; a supervised one (`GaussianScorer`) gets the quiet hours as
its target.

**Its scale is the household's own.**  Scores differ from hour to hour whatever the quiet
(the trees cut the clock unevenly), so a spell is flagged when its score passes, at that hour,
the highest score of the spells learned within an hour of it (`q` = 1; a lower `q` takes that
quantile, `river.stats.Quantile`) plus `margin`, and only from `floor_h` of quiet on.

**It does not learn from what it flags** (river's `anomaly.filter`, `protect_anomaly_detector`):
once warm, a day is scored as it is learned, and every quiet spell of it that the model flags is
left out of what the model learns — the whole spell, not only the hours flagged — so a silence
never teaches the model that silence is normal.  Days an alert for duty staff flagged are not
learned at all (detectors.routine).  The price, as in river: a household whose days really
change keeps being told until `QuietSpell` (which learns them) or the window moves on.

**State is the data, not the model.**  River models pickle large (HalfSpaceTrees: 6-46 KB
per household, with its random generator); what is kept here is the window of normal days,
as 12-byte masks of quarter-hours, and which of their hours were flagged (3 bytes a day), and
the model is rebuilt from them (seeded, so the same days give the same model) when a day is
learned or the state is unpickled: about 330 bytes for 14 days.  The model's settings are
configuration: the default model pickles as nothing, another as its class and parameters.
A model with a window (HalfSpaceTrees' `window_size`) is given the samples' count as window,
so its reference mass is every learned day.

The verdict is an existing early warning (`morning_activity_missing` / `unusual_quiet`,
warning), judged by `LearnedQuietRule` beside `QuietSpell`: whichever is first.  It never
holds back the seed rule, whose critical alert escalates it as it does `QuietSpell`'s.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
from river import anomaly, base, stats

from carewatch.domain import AlertType
from detectors.quiet import Finding, Spell, _bits, _quiet_quarters, _spans_the_night, spell_probes, waits_after
from detectors.routine import QUARTER_S, Day, local_quarter

MAX_QUIET_H = 24
"""Quiet is capped here (and the feature's range ends here): longer is the seed rule's business."""


def default_model() -> base.AnomalyDetector:
    """The model `carewatch evaluate` measures: small HalfSpaceTrees on (hour, quiet)."""
    return anomaly.HalfSpaceTrees(
        n_trees=5, height=6, window_size=2048, limits={"hour": (0.0, 24.0), "quiet": (0.0, float(MAX_QUIET_H))}, seed=42
    )


class RiverQuiet(base.Base):
    """A river anomaly model judging quiet spells, learned from the household's normal days.

    >>> rng = random.Random(42)
    >>> detector = RiverQuiet(warmup_days=14)
    >>> def normal_day(date):  # up at about 07:00, uses every hour or so, in bed by 22:00
    ...     wake, active = 28 + rng.randint(-1, 2), 0
    ...     quarter = wake
    ...     while quarter < 88:
    ...         active, quarter = active | 1 << quarter, quarter + rng.randint(2, 6)
    ...     return Day(date, active, 0.5, 0.12, True)
    >>> for date in range(739000, 739021):
    ...     detector.learn_one(normal_day(date))
    >>> detector.days_learned, detector.warm
    (14, True)
    >>> evening = datetime(2024, 6, 1, 21, 30, tzinfo=UTC).timestamp()  # last use, then nothing
    >>> detector.score_one(Spell(evening, evening, evening + 10 * 3600, UTC)) is None  # 07:30: not yet
    True
    >>> found = detector.score_one(Spell(evening, evening, evening + 14 * 3600, UTC))
    >>> found.alert_type.value, instant_hm(found.at_s), found.days
    ('morning_activity_missing', '08:15', 14)
    >>> ten = datetime(2024, 6, 2, 10, 0, tzinfo=UTC).timestamp()  # quiet from 10:00: told late in the day
    >>> instant_hm(detector.score_one(Spell(ten, ten, ten + 12 * 3600, UTC)).at_s)
    '19:15'
    """

    __slots__ = (
        "model", "q", "margin", "window_days", "warmup_days", "floor_h", "_dates", "_masks", "_flagged", "_model",
        "_limits", "_learned",
    )

    def __init__(
        self,
        model: base.AnomalyDetector | None = None,
        q: float = 1.0,
        margin: float = 0.08,
        window_days: int = 14,
        warmup_days: int = 14,
        floor_h: float = 2.0,
    ):
        self.model = model if model is not None else default_model()
        self.q = q
        self.margin = margin
        self.window_days = window_days
        self.warmup_days = warmup_days
        self.floor_h = floor_h
        self._dates: list[int] = []
        self._masks: list[int] = []
        self._flagged: list[int] = []
        """Per learned day, bit h set: the hour ending at h+1 belongs to a quiet spell the model
        flagged when the day was learned, so its samples are not learned (river's anomaly.filter)."""
        self._model: base.Estimator | None = None
        """The model, fitted on the window of days (derived: rebuilt, never pickled) ..."""
        self._limits: tuple[float, ...] = ()
        """... and the score above which it flags a spell, per hour of the day (derived too)."""
        self._learned = 0
        """Samples the filter let the model learn at the last rebuild (to read, for tests)."""

    @classmethod
    def _unit_test_probes(cls, rng: random.Random) -> list[Spell]:
        """Inputs of `score_one` for the generic detector checks: spells of every length."""
        return spell_probes(rng)

    @property
    def days_learned(self) -> int:
        return len(self._dates)

    @property
    def warm(self) -> bool:
        return len(self._dates) >= self.warmup_days

    @property
    def shortest_unusual_s(self) -> float:
        """No spell shorter than this (seconds) is flagged: `score_one` finds nothing in it (inf while warming up)."""
        return self.floor_h * 3600 if self.warm else math.inf

    @property
    def samples_learned(self) -> int:
        """Samples the model learned from the window (those its filter flagged are not)."""
        self._fitted()
        return self._learned

    def learn_one(self, day: Day) -> None:
        """Learn a normal day, except the quiet spells the model flags in it (once warm); a day
        that is not fit to learn from is ignored."""
        if not day.whole or (self._dates and day.date <= self._dates[-1]):
            return
        flagged = 0
        if self.warm:
            fitted = self._fitted()
            dates, masks = self._dates[-1:] + [day.date], self._masks[-1:] + [day.active]
            today = [(hour, x) for row, hour, x in samples(dates, masks, levels=False) if row == len(dates) - 1]
            began = {hour: hour + 1 - x["quiet"] for hour, x in today}  # when each hour's spell began
            flagged_spells = {began[hour] for hour, x in today if self._flags(fitted, hour, x)}
            # The whole spell the model flagged is left out, not only the hours it flagged:
            # its first hours would teach the model the start of a long silence.
            flagged = sum(1 << hour for hour, start in began.items() if start in flagged_spells)
        self._dates.append(day.date)
        self._masks.append(day.active)
        self._flagged.append(flagged)
        del self._dates[: -self.window_days], self._masks[: -self.window_days], self._flagged[: -self.window_days]
        self._model = None

    def score_one(self, spell: Spell) -> Finding | None:
        """The first quarter-hour end in (from_s, to_s] at which the model flags the spell."""
        if not self.warm or spell.to_s - spell.since_s < self.floor_h * 3600:
            return None
        fitted = self._fitted()
        start = max(spell.from_s, spell.since_s + self.floor_h * 3600 - QUARTER_S)
        boundary = math.floor(start / QUARTER_S) * QUARTER_S + QUARTER_S
        while boundary <= spell.to_s:
            quiet_h = min((boundary - spell.since_s) / 3600, MAX_QUIET_H)
            _, quarter = local_quarter(boundary, spell.tz)
            x = {"hour": quarter // 4 + 1.0, "quiet": quiet_h}  # the hour it ends in, as learned
            if self._flags(fitted, quarter // 4, x):
                waits = waits_after(self._dates, self._masks, spell.since_s, spell.tz)
                morning = _spans_the_night(spell.since_s, boundary, spell.tz)
                alert = AlertType.MORNING_ACTIVITY_MISSING if morning else AlertType.UNUSUAL_QUIET
                return Finding(alert, boundary, round(quiet_h - 0.25, 2), waits, len(self._dates), "river")
            boundary += QUARTER_S
        return None

    def score(self, hour: float, quiet_h: float) -> float:
        """The model's anomaly score of a spell `quiet_h` long at local clock `hour` (to read)."""
        return _score(self._fitted(), {"hour": hour, "quiet": min(quiet_h, MAX_QUIET_H)})

    def _fitted(self) -> base.Estimator:
        """The model fitted on the window of days, through its filter (rebuilt when stale).  A
        model with a window (HalfSpaceTrees' `window_size`) gets the samples' count as its window,
        so its reference is every learned day, not the last few hundred samples."""
        if self._model is None:
            xs = [x for row, hour, x in samples(self._dates, self._masks) if not self._flagged[row] >> hour & 1]
            model = self.model.clone()
            if "window_size" in model._get_params():
                model = model.clone({"window_size": max(1, len(xs))})
            for x in xs:
                _learn(model, x)
            # The household's own scale, hour by hour (trees see some hours as rarer than others
            # whatever the quiet): the q-quantile of the scores of the spells learned at that
            # hour or the hour either side, as they were, plus a margin.
            usual = [stats.Quantile(self.q) if self.q < 1 else stats.Max() for _ in range(24)]
            for row, hour, x in samples(self._dates, self._masks, levels=False):
                if not self._flagged[row] >> hour & 1:
                    score = _score(model, x)
                    for near in (hour - 1, hour, hour + 1):
                        usual[near % 24].update(score)
            self._limits = tuple((u.get() or 0.0) + self.margin for u in usual)
            self._model, self._learned = model, len(xs)
        return self._model

    def _flags(self, model: base.Estimator, hour: int, x: dict[str, float]) -> bool:
        return x["quiet"] >= self.floor_h and _score(model, x) > self._limits[hour]

    def __getstate__(self) -> tuple[object, ...]:
        masks = b"".join(m.to_bytes(12, "little") for m in self._masks)
        first = self._dates[0] if self._dates else 0
        gaps = bytes(min(255, b - a) for a, b in zip(self._dates, self._dates[1:], strict=False))
        # The model's settings only when they are not the default (an unfitted model pickles
        # its random generator: kilobytes).
        model = None if _same_settings(self.model, default_model()) else (type(self.model), self.model._get_params())
        flagged = b"".join(f.to_bytes(3, "little") for f in self._flagged)
        return ((model, self.q, self.margin, self.window_days, self.warmup_days, self.floor_h), first, gaps, masks, flagged)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        (model, self.q, self.margin, self.window_days, self.warmup_days, self.floor_h), first, gaps, masks, flagged = state  # type: ignore[misc]
        if model is None:
            self.model = default_model()
        else:
            cls, params = model  # type: ignore[misc]
            self.model = _rebuilt(cls, params)
        count = len(masks) // 12  # type: ignore[arg-type]
        self._masks = [int.from_bytes(masks[12 * i : 12 * i + 12], "little") for i in range(count)]  # type: ignore[index]
        self._flagged = [int.from_bytes(flagged[3 * i : 3 * i + 3], "little") for i in range(count)]  # type: ignore[index]
        self._dates = [first] if count else []  # type: ignore[list-item]
        for gap in gaps:  # type: ignore[union-attr]
            self._dates.append(self._dates[-1] + gap)
        self._model, self._limits, self._learned = None, (), 0

    def __repr__(self) -> str:
        return f"RiverQuiet({type(self.model).__name__}, days_learned={len(self._dates)}, warm={self.warm})"


def instant_hm(at_s: float) -> str:
    """HH:MM in UTC (for the examples)."""
    return datetime.fromtimestamp(at_s, UTC).strftime("%H:%M")


def samples(dates: list[int], masks: list[int], levels: bool = True) -> Iterator[tuple[int, int, dict[str, float]]]:
    """The model's inputs from the learned days, in order, as (day index, hour, x): at each
    hour's end, the hour and the quiet then — once as it was and once for every whole hour of
    quiet below it (quiet "at least L hours"), so longer spells are rarer than shorter ones at
    every hour.  Hours whose quiet reaches back before the first learned day are skipped."""
    if not masks:
        return
    quiet = _quiet_quarters(dates, _bits(masks))
    for row, values in enumerate(quiet):
        for hour in range(24):
            value = values[4 * hour + 3]
            if np.isnan(value):
                continue
            clock, quiet_h = hour + 1.0, min(float(value) / 4, MAX_QUIET_H)
            for level in range(int(quiet_h) if levels else 0):
                yield row, hour, {"hour": clock, "quiet": float(level)}
            yield row, hour, {"hour": clock, "quiet": quiet_h}


def _supervised(model: base.Estimator) -> bool:
    inner = model.anomaly_detector if isinstance(model, base.AnomalyFilter) else model
    return isinstance(inner, base.SupervisedAnomalyDetector)


def _score(model: base.Estimator, x: dict[str, float]) -> float:
    if _supervised(model):
        return model.score_one({"hour": x["hour"]}, x["quiet"])
    return model.score_one(x)


def _learn(model: base.Estimator, x: dict[str, float]) -> None:
    if _supervised(model):
        model.learn_one({"hour": x["hour"]}, x["quiet"])
    else:
        model.learn_one(x)


def _same_settings(a: base.Base, b: base.Base) -> bool:
    return type(a) is type(b) and repr(a._get_params()) == repr(b._get_params())


def _rebuilt(cls: type, params: dict[str, object]) -> base.Base:
    """A model from `_get_params()` (nested models come as (class, params) pairs)."""
    built = {
        name: _rebuilt(*value) if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], type) else value
        for name, value in params.items()
    }
    return cls(**built)
