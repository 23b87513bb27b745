"""Foreign gateways and IoT platforms that send readings in their own format (docs/gateways.md).

Each integration names its format, where its messages arrive (an MQTT topic filter, or carewatch's
HTTP push endpoint), which field of the decoded payload is the register and in what unit, and which
device is which meter.  They are read once, with the settings, from the file named by
``CAREWATCH_INTEGRATIONS_PATH`` (TOML or JSON), and validated with errors that name the integration.
"""

from __future__ import annotations

import json
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from carewatch.domain import IDENTIFIER

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER.pattern)]


class Format(StrEnum):
    TTN_V3 = "ttn_v3"
    """The Things Stack (The Things Network v3) uplink JSON on ``v3/{app}@{tenant}/devices/{device}/up``."""
    CHIRPSTACK_V4 = "chirpstack_v4"
    """ChirpStack v4 ``up`` event, JSON encoding, on ``application/{id}/device/{dev_eui}/event/up``."""
    WMBUSMETERS = "wmbusmeters"
    """The JSON wmbusmeters hands its ``shell=`` command as ``$METER_JSON``, published with mosquitto_pub."""
    ONENET = "onenet"
    """China Mobile OneNET data push (HTTP POST, ``msg`` signed with the integration's token)."""
    CTWING = "ctwing"
    """China Telecom CTWing (AEP) subscription push (HTTP POST ``dataReport``), token in the push URL."""

    @property
    def is_push(self) -> bool:
        """Arrives by carewatch's HTTP push endpoint rather than on an MQTT topic of the integrator's choice."""
        return self in (Format.ONENET, Format.CTWING)


class Unit(StrEnum):
    M3 = "m3"
    LITRES = "L"
    PULSES = "pulses"


DEFAULT_REGISTER_FIELD = {Format.WMBUSMETERS: "total_m3"}


class Integration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Identifier
    """Its readings arrive as from the gateway of this id (a household's gateway_id may name it)."""
    format: Format
    topic: str | None = None
    """MQTT topic filter (wildcards + and #) of the MQTT formats; the push formats arrive on
    ``{prefix}/push/{name}``, published by the HTTP push endpoint."""
    register_field: str | None = None
    """The register's field in the decoded payload (a dotted path for nested objects); wmbusmeters: total_m3."""
    battery_field: str | None = None
    """The battery's field in the decoded payload (a dotted path), in percent, when the device reports one:
    it feeds the meter's health (low-battery alerts for a technician).  A value that is no percentage is left
    out; it never costs the reading."""
    battery_volts: tuple[float, float] | None = None
    """(empty, full): the battery field is in volts, read as 0 % at the first and 100 % at the second, linearly."""
    unit: Unit = Unit.M3
    pulse_m3: float | None = Field(default=None, gt=0)
    """m³ per pulse, when the register counts pulses (e.g. 0.01)."""
    devices: dict[str, Identifier] = Field(default_factory=dict)
    """Device id (as the format names it) → meter id; a device not listed is taken to be the meter of that id."""
    push_token: str | None = Field(default=None, min_length=16)
    """The push formats' shared secret: OneNET's push token, or the token in CTWing's push URL."""

    @model_validator(mode="after")
    def _consistent(self) -> Integration:
        if self.format.is_push:
            if self.topic is not None:
                raise ValueError(f"a {self.format} integration arrives by HTTP push: remove 'topic'")
            if self.push_token is None:
                raise ValueError(f"a {self.format} integration needs a 'push_token' (at least 16 characters)")
        elif not self.topic:
            raise ValueError(f"a {self.format} integration needs the MQTT 'topic' its gateways publish on")
        elif self.topic.startswith("$") or "\x00" in self.topic:
            raise ValueError(f"topic {self.topic!r} is not a subscribable MQTT topic filter")
        if self.register_field is None and self.format not in DEFAULT_REGISTER_FIELD:
            raise ValueError(f"a {self.format} integration needs 'register_field' (the register in the decoded payload)")
        if self.battery_volts is not None and not (self.battery_field and 0 < self.battery_volts[0] < self.battery_volts[1]):
            raise ValueError("'battery_volts' = [empty, full] needs 'battery_field', and 0 < empty < full")
        if (self.unit is Unit.PULSES) != (self.pulse_m3 is not None):
            raise ValueError("'pulse_m3' (m³ per pulse) is required with unit = \"pulses\", and only then")
        return self

    @property
    def register(self) -> str:
        return self.register_field or DEFAULT_REGISTER_FIELD[self.format]

    def mqtt_topic(self, prefix: str) -> str:
        """The topic filter its messages arrive on."""
        return f"{prefix}/push/{self.name}" if self.format.is_push else str(self.topic)


class IntegrationsError(ValueError):
    """The integrations file cannot be used; the message names the problem."""


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    integration: list[Integration] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> _File:
        names = [i.name for i in self.integration]
        if twice := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"integration names must be unique: {', '.join(twice)} listed twice")
        return self


def load_integrations(path: Path) -> tuple[Integration, ...]:
    """The ``[[integration]]`` tables of a TOML file (or ``{"integration": [...]}`` in JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise IntegrationsError(f"integrations file {path} does not exist (CAREWATCH_INTEGRATIONS_PATH)") from exc
    try:
        document = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise IntegrationsError(f"integrations file {path} is not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}") from exc
    try:
        return tuple(_File.model_validate(document).integration)
    except ValidationError as exc:
        problems = "\n  ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise IntegrationsError(f"invalid integrations file {path}:\n  {problems}") from exc
