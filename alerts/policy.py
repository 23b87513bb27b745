"""The escalation policy: which ladder an alert climbs, the wait before each step, and reminders.

Given as a TOML or JSON file (format in docs/notifications.md; the default ships as
alerts/default_policy.toml), validated on load so that no alert can lack a ladder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alerts.documents import describe_errors, read_document
from carewatch.domain import AlertType, Audience, Severity

DEFAULT_POLICY = Path(__file__).resolve().parent / "default_policy.toml"
ANY = "*"


class Action(StrEnum):
    CHECK_ELDER = "check_elder"  # a message or call to the elder's own phone
    NOTIFY_FAMILY = "notify_family"
    PAGE_DUTY = "page_duty"  # staff on duty now by the site's rota, and the site's group robots
    ESCALATE_SUPERVISOR = "escalate_supervisor"
    REQUEST_HOME_VISIT = "request_home_visit"


STAFF_ACTIONS = frozenset({Action.PAGE_DUTY, Action.ESCALATE_SUPERVISOR, Action.REQUEST_HOME_VISIT})
FAMILY_ACTIONS = frozenset({Action.CHECK_ELDER, Action.NOTIFY_FAMILY})


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the ladder and the problem."""


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Action
    wait: timedelta = timedelta(0)
    """After the previous step (or after the alert, for the first step)."""

    @model_validator(mode="after")
    def _not_negative(self) -> _Step:
        if self.wait < timedelta(0):
            raise ValueError(f"step {self.action.value}: wait must not be negative")
        return self


class _Reminders(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    first: timedelta = Field(default=timedelta(minutes=30), gt=timedelta(0))
    factor: float = Field(default=2.0, ge=1.0, le=10.0)
    max_interval: timedelta = Field(default=timedelta(hours=8), gt=timedelta(0))
    max_count: int = Field(default=6, ge=0, le=50)


class _Ladder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=64)
    sites: list[str] = [ANY]
    audiences: list[Audience] = Field(min_length=1)
    severities: list[Severity] = Field(min_length=1)
    alert_types: list[AlertType] | None = None
    urgent: bool = False
    """Urgent ladders reach families in their quiet hours too."""
    steps: list[_Step] = Field(min_length=1)
    reminders: _Reminders | None = _Reminders()

    @model_validator(mode="after")
    def _families_only_for_care(self) -> _Ladder:
        if Audience.ELDER in self.audiences:
            for step in self.steps:
                if step.action is not Action.CHECK_ELDER:
                    raise ValueError(
                        f"ladder {self.name!r}: {step.action.value} in a ladder for check-ins; a check-in asks the "
                        "elder alone (check_elder): family and staff hear only if it goes unanswered"
                    )
        if Audience.TECHNICIAN in self.audiences:
            for step in self.steps:
                if step.action in FAMILY_ACTIONS:
                    raise ValueError(
                        f"ladder {self.name!r}: {step.action.value} in a ladder for technician alerts; "
                        "device faults go to staff, never to the elder or the family"
                    )
        return self

    def built(self) -> Ladder:
        """The ladder the rest of the code uses; validation asks it too, so that which alerts a ladder
        covers is one rule (`Ladder.matches`)."""
        return Ladder(
            name=self.name,
            sites=frozenset(self.sites),
            audiences=frozenset(self.audiences),
            severities=frozenset(self.severities),
            alert_types=frozenset(self.alert_types) if self.alert_types is not None else None,
            urgent=self.urgent,
            steps=tuple(Step(step.action, step.wait) for step in self.steps),
            reminders=Reminders(**self.reminders.model_dump()) if self.reminders else None,
        )


CHECK_IN_LADDER = _Ladder(
    name="check-in (built in)", audiences=[Audience.ELDER], severities=list(Severity),
    steps=[_Step(action=Action.CHECK_ELDER)], reminders=None,
)
"""The check-in's ladder when a policy file names none: one message to the elder, nothing else."""


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    safety_types: list[AlertType] = [AlertType.GAS_CONTINUOUS]
    """Alerts that skip every wait and reach everyone on the ladder at once, quiet hours or not."""
    ladders: list[_Ladder] = Field(min_length=1)

    @model_validator(mode="after")
    def _every_alert_has_a_ladder(self) -> _PolicyFile:
        if not any(Audience.ELDER in ladder.audiences and ANY in ladder.sites for ladder in self.ladders):
            # A policy written before the check-ins: they reach the elder alone, by the built-in ladder.
            self.ladders.append(CHECK_IN_LADDER)
        names = [ladder.name for ladder in self.ladders]
        if len(set(names)) != len(names):
            raise ValueError("two ladders share a name")
        ladders = [ladder.built() for ladder in self.ladders]
        for alert_type in AlertType:
            for severity in Severity:
                if not any(ladder.matches(ANY, alert_type, severity) for ladder in ladders):
                    raise ValueError(
                        f"no ladder for sites=['*'] covers {alert_type.value} alerts of severity {severity.value}; "
                        "an alert without a ladder would reach nobody"
                    )
        return self


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    wait: timedelta


@dataclass(frozen=True, slots=True)
class Reminders:
    first: timedelta
    factor: float
    max_interval: timedelta
    max_count: int

    def interval(self, sent: int) -> timedelta:
        """The wait before reminder number ``sent + 1``: growing by ``factor`` up to ``max_interval``."""
        return min(self.first * (self.factor**sent), self.max_interval)


@dataclass(frozen=True, slots=True)
class Ladder:
    name: str
    sites: frozenset[str]
    audiences: frozenset[Audience]
    severities: frozenset[Severity]
    alert_types: frozenset[AlertType] | None
    urgent: bool
    steps: tuple[Step, ...]
    reminders: Reminders | None

    def matches(self, site: str, alert_type: AlertType, severity: Severity) -> bool:
        return (
            (ANY in self.sites or site in self.sites)
            and alert_type.audience in self.audiences
            and severity in self.severities
            and (self.alert_types is None or alert_type in self.alert_types)
        )


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    ladders: tuple[Ladder, ...]
    safety_types: frozenset[AlertType]

    def ladder_for(self, site: str, alert_type: AlertType, severity: Severity) -> Ladder:
        """The first ladder naming this site, else the first catch-all (validation guarantees one)."""
        matching = [ladder for ladder in self.ladders if ladder.matches(site, alert_type, severity)]
        specific = [ladder for ladder in matching if site in ladder.sites]
        return (specific or matching)[0]

    def ladder_named(self, name: str) -> Ladder | None:
        return next((ladder for ladder in self.ladders if ladder.name == name), None)

    def is_safety(self, alert_type: AlertType) -> bool:
        return alert_type in self.safety_types

    @classmethod
    def from_document(cls, document: object) -> EscalationPolicy:
        try:
            parsed = _PolicyFile.model_validate(document)
        except ValidationError as exc:
            raise PolicyError(describe_errors("invalid escalation policy", exc.errors())) from exc
        return cls(tuple(ladder.built() for ladder in parsed.ladders), frozenset(parsed.safety_types))

    @classmethod
    def load(cls, path: Path = DEFAULT_POLICY) -> EscalationPolicy:
        return cls.from_document(read_document(path, "escalation policy", "CAREWATCH_ESCALATION_POLICY_PATH", PolicyError))
