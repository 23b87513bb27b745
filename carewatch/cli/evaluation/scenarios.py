"""The labelled scenarios of `carewatch evaluate`: families of simulated households.

Every family lives `days` days; the first `warmup_days` are learning time (no
incident starts then, and nothing raised then is scored).  Each family is split in
shards (a simulation each, its own seed) so the suite runs on every core.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta

from carewatch.cli.evaluation.matching import Scorecard, TruthIncident, score
from carewatch.cli.evaluation.replay import detector_sets, replay
from gateway_sim import IncidentKind, SimConfig, Simulation

_MIX = (IncidentKind.INACTIVE,) * 4 + (
    IncidentKind.GAS_LEFT_ON,
    IncidentKind.WATER_LEFT_ON,
    IncidentKind.GATEWAY_SILENT,
    IncidentKind.NIGHT_RESTLESS,
    IncidentKind.DECLINE,
)
"""Mostly inactivity, the incident this evaluation is about; every other kind too."""


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    description: str
    overrides: Mapping[str, object] = field(default_factory=dict)
    """SimConfig fields that make this family what it is."""


FAMILIES: tuple[Family, ...] = (
    Family("classic", "early risers, regular days, late sleepers; gas and water; readings every 15 min"),
    Family("varied", "night owls, shift workers, irregular routines, outings", {"varied_routines": True}),
    Family(
        "one meter",
        "varied routines in homes with a gas meter only or a water meter only",
        {"varied_routines": True, "gas_only_households": -2, "water_only_households": -2},
    ),
    Family("lossy radio", "varied routines; readings lost singly and for up to 4 h", {"varied_routines": True, "reading_loss": 0.02}),
    Family(
        "daily batch",
        "NB-IoT meters: hourly or half-hourly values uploaded once a day, 02:00-06:00",
        {"varied_routines": True, "batch_share": 1.0},
    ),
    Family("away", "varied routines; planned absences of 1-7 days entered in the console", {"varied_routines": True, "away_share": 0.7}),
    Family(
        "real cadence",
        "varied routines; meters report about hourly at irregular minutes, with gaps of hours to days "
        "clustered in some meters, in pulses of 1 or 10 litres",
        {"varied_routines": True, "real_cadence": True},
    ),
)


@dataclass(frozen=True, slots=True)
class SuiteConfig:
    households: int = 30
    """Per shard."""
    shards: int = 2
    """Simulations per family, each with its own seed."""
    days: float = 33.0
    warmup_days: float = 16.0
    seed: int = 1
    incident_share: float = 0.6
    inactive_hours: float = 72.0
    """An inactive elder is found after this long (long enough for a daily batch and the 24 h rule)."""
    families: tuple[str, ...] = tuple(f.name for f in FAMILIES)
    rules: tuple[tuple[str, float], ...] = ()
    """RuleConfig settings for the learned column (e.g. ("quiet_grace_h", 0.75)), to weigh a change."""
    river: bool = False
    """Also a column of the learned detectors with the river model (RuleConfig.river_quiet)."""
    staff_outcomes: bool = False
    """A third column: the learned detectors taught by simulated staff outcomes (detectors learn from "went out")."""


@dataclass(frozen=True, slots=True)
class ShardResult:
    family: str
    shard: int
    cards: Mapping[str, Scorecard]
    readings: int
    rejected: int
    state_bytes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Per detector set, each household's pickled monitor at the end, in bytes."""


def shard_config(family: Family, shard: int, suite: SuiteConfig) -> SimConfig:
    overrides = dict(family.overrides)
    for name in ("gas_only_households", "water_only_households"):
        if overrides.get(name) == -2:  # half of the shard each
            overrides[name] = suite.households // 2
    return SimConfig(
        households=suite.households,
        days=suite.days,
        seed=suite.seed * 1000 + FAMILIES.index(family) * 100 + shard,
        incident_share=suite.incident_share,
        incident_kinds=_MIX,
        incident_lead_days=suite.warmup_days,
        inactive_hours=suite.inactive_hours,
        **overrides,  # type: ignore[arg-type]
    )


def run_shard(family_name: str, shard: int, suite: SuiteConfig) -> ShardResult:
    family = next(f for f in FAMILIES if f.name == family_name)
    simulation = Simulation(shard_config(family, shard, suite))
    result = replay(simulation, detector_sets(suite.rules, suite.river, suite.staff_outcomes))
    config = simulation.config
    begin = config.start.astimezone(UTC) + timedelta(days=suite.warmup_days)
    period = (begin, config.end.astimezone(UTC))
    truth = [TruthIncident(i.household_id, str(i.kind), i.start, i.end) for i in simulation.incidents]
    households = [h.household_id for h in simulation.households]
    cards = {name: score(truth, alerts, households, period) for name, alerts in result.alerts.items()}
    return ShardResult(family.name, shard, cards, result.readings, result.rejected, result.state_bytes)


@dataclass(frozen=True, slots=True)
class SuiteResult:
    suite: SuiteConfig
    shards: tuple[ShardResult, ...]

    def total(self, detector_set: str) -> Scorecard:
        return _merge(s.cards[detector_set] for s in self.shards)

    def family(self, family: str, detector_set: str) -> Scorecard:
        return _merge(s.cards[detector_set] for s in self.shards if s.family == family)

    @property
    def detector_sets(self) -> list[str]:
        return list(self.shards[0].cards) if self.shards else []

    def state_bytes(self, detector_set: str) -> list[int]:
        """Every household's pickled monitor at the end of its run, in bytes, sorted."""
        return sorted(n for s in self.shards for n in s.state_bytes.get(detector_set, ()))

    @property
    def readings(self) -> int:
        return sum(s.readings for s in self.shards)


def _merge(cards: Iterator[Scorecard] | Sequence[Scorecard]) -> Scorecard:
    merged: Scorecard | None = None
    for card in cards:
        merged = card if merged is None else merged.merged(card)
    if merged is None:
        raise ValueError("no shard to merge")
    return merged


def run_suite(suite: SuiteConfig, jobs: int = 1) -> SuiteResult:
    work = [(family, shard) for family in suite.families for shard in range(suite.shards)]
    unknown = set(suite.families) - {f.name for f in FAMILIES}
    if unknown:
        raise ValueError(f"unknown scenario families {sorted(unknown)}; known: {[f.name for f in FAMILIES]}")
    if jobs <= 1:
        shards = [run_shard(family, shard, suite) for family, shard in work]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            shards = list(pool.map(run_shard, *zip(*work, strict=True), [suite] * len(work)))
    return SuiteResult(replace(suite), tuple(shards))
