"""The household registry: which meters belong to which household and gateway.

Integrators provide it as a JSON file (format in docs/registry.md); it is
validated once on load, with errors that name the household and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    model_validator,
)

from carewatch.domain import IDENTIFIER, MeterKind
from detectors.config import HouseholdProfile, MeterProfile, RuleConfig

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER.pattern)]


def known_zone(value: str) -> str:
    """``value``, if it names an IANA time zone this machine knows."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Asia/Shanghai')") from exc
    return value


ZoneName = Annotated[str, AfterValidator(known_zone)]
"""A time zone name that pydantic checks with ``known_zone``."""


class RegistryError(ValueError):
    """The registry file cannot be used; the message names the problem."""


class _Meter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    meter_id: Identifier
    kind: MeterKind
    interval_s: float = Field(default=900.0, gt=0, le=7 * 86400)
    upload_every_s: float = Field(default=0.0, ge=0, le=7 * 86400)


class _Rules(BaseModel):
    """Per-household overrides of detectors.config.RuleConfig; only known names."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    inactivity_window_h: float | None = Field(default=None, gt=0, le=24 * 14)
    gas_min_use_m3: float | None = Field(default=None, ge=0)
    water_min_use_m3: float | None = Field(default=None, ge=0)
    gas_continuous_h: float | None = Field(default=None, gt=0)
    water_continuous_h: float | None = Field(default=None, gt=0)
    gas_min_flow_m3_per_h: float | None = Field(default=None, gt=0)
    water_min_flow_m3_per_h: float | None = Field(default=None, gt=0)
    continuity_max_gap_h: float | None = Field(default=None, gt=0)
    gas_daily_ceiling_m3: float | None = Field(default=None, gt=0)
    water_daily_ceiling_m3: float | None = Field(default=None, gt=0)
    silent_after_intervals: float | None = Field(default=None, ge=1)
    silent_offline_grace_h: float | None = Field(default=None, ge=0, le=24)
    """How long a gateway offline by its MQTT last will may stay so before its meters are silent."""
    silent_wait_while_online: StrictBool | None = None
    """True: while the gateway's last status is online, every meter silent at once waits as long as one meter."""
    battery_low_pct: float | None = Field(default=None, ge=0, le=100)
    battery_ok_pct: float | None = Field(default=None, ge=0, le=100)
    weak_signal_dbm: float | None = Field(default=None, ge=-150, le=0)
    signal_ok_dbm: float | None = Field(default=None, ge=-150, le=0)
    weak_signal_days: float | None = Field(default=None, gt=0, le=14)
    learned: StrictBool | None = None
    """False: the fixed rules only, for this household (integrators measuring their own data)."""
    check_in: StrictBool | None = None
    """False: never ask this elder first (no phone of her own, or she asked not to be asked)."""
    check_in_answer_h: float | None = Field(default=None, gt=0, le=12)
    """How long an unanswered check-in waits before family and staff are told."""
    river_quiet: StrictBool | None = None
    """True: also the river model's early warning of quiet (detectors.anomaly; off by default)."""

    @model_validator(mode="after")
    def _hysteresis_goes_up(self) -> _Rules:
        """A clearing level under the raising one would raise and clear on alternate readings."""
        defaults = RuleConfig()
        for low, ok in (("battery_low_pct", "battery_ok_pct"), ("weak_signal_dbm", "signal_ok_dbm")):
            low_value = getattr(self, low) if getattr(self, low) is not None else getattr(defaults, low)
            ok_value = getattr(self, ok) if getattr(self, ok) is not None else getattr(defaults, ok)
            if ok_value < low_value:
                raise ValueError(f"{ok} ({ok_value:g}) must not be below {low} ({low_value:g})")
        return self

    def apply(self, defaults: RuleConfig) -> RuleConfig:
        from dataclasses import replace

        return replace(defaults, **self.model_dump(exclude_none=True))


class _Household(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    household_id: Identifier
    name: str = ""
    site: str = "default"
    address: str = ""
    timezone: ZoneName = "Asia/Shanghai"
    gateway_id: Identifier | None = None
    meters: list[_Meter] = Field(min_length=1)
    rules: _Rules = _Rules()



class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    households: list[_Household]

    @model_validator(mode="after")
    def _unique_ids(self) -> _RegistryFile:
        seen_households: set[str] = set()
        seen_meters: dict[str, str] = {}
        for household in self.households:
            if household.household_id in seen_households:
                raise ValueError(f"household {household.household_id!r} is listed twice")
            seen_households.add(household.household_id)
            for meter in household.meters:
                owner = seen_meters.setdefault(meter.meter_id, household.household_id)
                if owner != household.household_id or sum(m.meter_id == meter.meter_id for m in household.meters) > 1:
                    raise ValueError(f"meter {meter.meter_id!r} is listed twice (household {owner!r})")
        return self


@dataclass(frozen=True, slots=True)
class RegisteredHousehold:
    profile: HouseholdProfile
    name: str
    site: str
    address: str
    gateway_id: str | None

    @property
    def household_id(self) -> str:
        return self.profile.household_id


class Registry:
    """Look-ups over the validated registry."""

    def __init__(self, households: list[RegisteredHousehold]):
        self.households: dict[str, RegisteredHousehold] = {h.household_id: h for h in households}
        self._by_meter: dict[str, tuple[RegisteredHousehold, MeterProfile]] = {
            meter.meter_id: (h, meter) for h in households for meter in h.profile.meters
        }
        by_gateway: dict[str, list[str]] = {}
        for h in households:
            if h.gateway_id is not None:
                by_gateway.setdefault(h.gateway_id, []).append(h.household_id)
        self._by_gateway = {gateway_id: tuple(ids) for gateway_id, ids in by_gateway.items()}

    def households_on(self, gateway_id: str) -> tuple[str, ...]:
        """The households registered to a gateway (whose monitors hear its status), in registry order."""
        return self._by_gateway.get(gateway_id, ())

    def meter(self, meter_id: str) -> tuple[RegisteredHousehold, MeterProfile] | None:
        return self._by_meter.get(meter_id)

    def __len__(self) -> int:
        return len(self.households)

    @classmethod
    def from_document(cls, document: object, defaults: RuleConfig | None = None) -> Registry:
        try:
            parsed = _RegistryFile.model_validate(document)
        except ValidationError as exc:
            raise RegistryError(_describe(exc)) from exc
        base = defaults or RuleConfig()
        households = [
            RegisteredHousehold(
                profile=HouseholdProfile(
                    household_id=h.household_id,
                    meters=tuple(MeterProfile(m.meter_id, m.kind, m.interval_s, m.upload_every_s) for m in h.meters),
                    rules=h.rules.apply(base),
                    timezone=ZoneInfo(h.timezone),
                    gateway_id=h.gateway_id,
                ),
                name=h.name,
                site=h.site,
                address=h.address,
                gateway_id=h.gateway_id,
            )
            for h in parsed.households
        ]
        return cls(households)

    @classmethod
    def load(cls, path: Path, defaults: RuleConfig | None = None) -> Registry:
        import orjson

        try:
            document = orjson.loads(path.read_bytes())
        except FileNotFoundError as exc:
            raise RegistryError(f"registry file {path} does not exist (set CAREWATCH_REGISTRY_PATH)") from exc
        except orjson.JSONDecodeError as exc:
            raise RegistryError(f"registry file {path} is not valid JSON: {exc}") from exc
        return cls.from_document(document, defaults)


# Public names for the directory's import and API, which accept the same entries.
MeterEntry = _Meter
RulesEntry = _Rules
HouseholdEntry = _Household


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        lines.append(f"{where}: {error['msg']}")
    return "invalid household registry:\n  " + "\n  ".join(lines)
