"""The integrator API's directory bodies, split by purpose (Create / Update / Public), and its page envelope."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from fastapi import HTTPException, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from carewatch.directory_import import ElderHousehold, GatewayEntry, SiteEntry, known_zone
from carewatch.domain import MeterKind
from carewatch.registry import Identifier, MeterEntry, RulesEntry

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
    timezone: str | None = None

    _zone = field_validator("timezone")(lambda cls, v: v if v is None else known_zone(v))


class SitePublic(BaseModel):
    site_id: str
    name: str
    timezone: str


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
    timezone: str | None = None
    gateway_id: Identifier | None = None
    phone: str | None = Field(default=None, max_length=40)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    notes: str | None = Field(default=None, max_length=4000)
    rules: RulesEntry | None = None

    _zone = field_validator("timezone")(lambda cls, v: v if v is None else known_zone(v))


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


class MeterCreate(MeterEntry):
    household_id: Identifier


class MeterUpdate(_Update):
    interval_s: float = Field(gt=0, le=7 * 86400)


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
