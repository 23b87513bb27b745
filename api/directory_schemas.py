"""The integrator API's directory bodies, split by purpose (Create / Update / Public), and its page envelope."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from fastapi import HTTPException, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from alerts.people import ELDER_CONTACT_ID, ChannelEntry, HouseholdContact, QuietHoursEntry
from api.routine_view import RoutinePublic
from carewatch.catalogue import Language
from api.directory_import import ElderHousehold, GatewayEntry, SiteEntry
from carewatch.domain import AlertType, MeterKind
from carewatch.registry import Identifier, MeterEntry, RulesEntry, ZoneName

MAX_PAGE = 500
MAX_ABSENCE = timedelta(days=90)
Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Pass as offset for the next page; null on the last page")


def page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + limit if offset + limit < total else None}


def field_error(loc: tuple[str, ...], message: str, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT) -> HTTPException:
    """A 4xx in FastAPI's validation-error shape, so clients read every refusal the same way."""
    return HTTPException(code, [{"loc": ["body", *loc], "msg": message, "type": "value_error"}])


class _Update(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


SiteCreate = SiteEntry


class SiteUpdate(_Update):
    name: str | None = Field(default=None, max_length=200)
    timezone: ZoneName | None = None
    phone: str | None = Field(default=None, max_length=40)


class SitePublic(BaseModel):
    site_id: str
    name: str
    timezone: str
    phone: str


GatewayCreate = GatewayEntry


class GatewayUpdate(_Update):
    name: str | None = Field(default=None, max_length=200)


class GatewayPublic(BaseModel):
    gateway_id: str
    site: str
    name: str
    has_mqtt_credentials: bool
    credentials_issued_at: datetime | None


HouseholdCreate = ElderHousehold


class HouseholdUpdate(_Update):
    """Only the fields given change; meters have their own routes."""

    site: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    timezone: ZoneName | None = None
    gateway_id: Identifier | None = None
    phone: str | None = Field(default=None, max_length=40)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    notes: str | None = Field(default=None, max_length=4000)
    rules: RulesEntry | None = None


class MeterPublic(BaseModel):
    meter_id: str
    household_id: str
    kind: MeterKind
    interval_s: float
    upload_every_s: float = Field(default=0.0, description="0: sent as read; 86400: a daily batch (NB-IoT)")


class HouseholdPublic(BaseModel):
    household_id: str
    site: str
    name: str
    address: str
    timezone: str
    gateway_id: str | None
    phone: str
    birth_year: int | None
    notes: str
    rules: dict[str, Any]
    meters: list[MeterPublic]


class HouseholdDetail(HouseholdPublic):
    routine: RoutinePublic | None = Field(description="The learned routine, where the runner has stored the household's detector state")


class MeterCreate(MeterEntry):
    household_id: Identifier


class MeterUpdate(_Update):
    interval_s: float = Field(gt=0, le=7 * 86400)


class ContactCreate(HouseholdContact):
    """A family member, or (``role`` elder, id ``elder``) the elder's own line. ``id`` may be left out: one is made."""

    id: Identifier = Field(default=None, description="Unique within the household; made for you if left out (`elder` for the elder)")  # type: ignore[assignment]

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("id") is None:
            made = ELDER_CONTACT_ID if data.get("role") == "elder" else f"contact-{secrets.token_hex(4)}"
            data = {**data, "id": made}
        return data


class ContactUpdate(_Update):
    """Only the fields given change; ``quiet_hours`` or ``alert_types`` null: none / every care alert."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    relation: str | None = Field(default=None, max_length=64)
    language: Language | None = None
    channels: list[ChannelEntry] | None = Field(default=None, min_length=1)
    quiet_hours: QuietHoursEntry | None = None
    alert_types: list[AlertType] | None = None


class ContactPublic(BaseModel):
    household_id: str
    id: str
    role: Literal["family", "elder"]
    name: str
    relation: str
    language: Language
    channels: list[ChannelEntry]
    quiet_hours: QuietHoursEntry | None
    alert_types: list[AlertType] | None


class AbsenceCreate(BaseModel):
    """An away window: the elder is not home (hospital, family visit), so quiet meters are expected."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _window(self) -> AbsenceCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.ends_at - self.starts_at > MAX_ABSENCE:
            raise ValueError(f"an absence lasts at most {MAX_ABSENCE.days} days; add another one after it")
        return self


class AbsencePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    household_id: str
    starts_at: datetime
    ends_at: datetime
    note: str
    created_by: str
    created_at: datetime
