"""Integrator CRUD for sites, gateways and meters (households have their own module), per site."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import site_filter, visible_gateway, visible_meter, visible_site
from api.auth import Principal
from api.deps import CredentialIssuer, DirectoryReader, DirectoryWriter, NowDep, Services, ServicesDep, SessionDep, SiteWriter
from api.directory_schemas import (
    MAX_PAGE, GatewayCreate, GatewayPublic, GatewayUpdate, MeterCreate, MeterPublic, MeterUpdate, Page, SiteCreate,
    SitePublic, SiteUpdate, field_error, page,
)
from api.mqtt_credentials import mosquitto_hash, new_password, why_reserved, write_broker_files
from carewatch.directory import Gateway, Household, Meter, Site, meter_row

router = APIRouter(prefix="/api", tags=["directory"])
NOT_YOURS = {404: {"description": "No such object among the sites you may see"}}

Limit = Annotated[int, Query(ge=1, description=f"At most {MAX_PAGE}; larger values are capped")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Row = TypeVar("Row")


async def paged(session: AsyncSession, query: Any, limit: int, offset: int) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await session.scalars(query.limit(min(limit, MAX_PAGE)).offset(offset))).all()
    return list(rows), int(total or 0)


async def changed(services: Services) -> None:
    """Tell the runner the directory changed (it reloads the pipeline's registry)."""
    if services.on_directory_change is not None:
        await services.on_directory_change()


async def writable_site(session: AsyncSession, principal: Principal, site_id: str, loc: tuple[str, ...] = ("site",)) -> Site:
    site = await session.get(Site, site_id)
    if site is None or not principal.sees(site_id):
        raise field_error(loc, f"no site {site_id!r} among the sites you may change")
    return site


def id_taken(loc: tuple[str, ...], what: str, key: str, principal: Principal, owner_site: str | None) -> HTTPException:
    """An id already in use: 409 if the caller sees its object; otherwise refused like any id they may not use,
    without saying that another site has it (the per-site 404 rule, for creation)."""
    if principal.sees(owner_site):
        return field_error(loc, f"{what} {key!r} exists already", status.HTTP_409_CONFLICT)
    return field_error(loc, f"{what} id {key!r} cannot be used here: choose another")


async def meter_site(session: AsyncSession, meter_id: str) -> tuple[bool, str | None]:
    """Whether the meter id is in use, and the site of its household."""
    row = (await session.execute(
        select(Household.site_id).select_from(Meter).join(Household, Household.id == Meter.household_id).where(Meter.id == meter_id)
    )).one_or_none()
    return row is not None, row[0] if row else None


async def patched(session: AsyncSession, row: Row, body: BaseModel) -> Row:
    """A PATCH, committed: the fields the body gives are set (null counts as not given), the rest stay."""
    for key, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(row, key, value)
    await session.commit()
    return row


# ---- sites ----------------------------------------------------------------------------------------------


def site_public(site: Site) -> SitePublic:
    return SitePublic(site_id=site.id, name=site.name, timezone=site.timezone, phone=site.phone or "")


@router.get("/sites", response_model=Page[SitePublic])
async def list_sites(principal: DirectoryReader, session: SessionDep, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    rows, total = await paged(session, site_filter(select(Site), principal, Site.id).order_by(Site.id), limit, offset)
    return page([site_public(s) for s in rows], total, min(limit, MAX_PAGE), offset)


@router.post("/sites", response_model=SitePublic, status_code=status.HTTP_201_CREATED)
async def create_site(body: SiteCreate, principal: SiteWriter, session: SessionDep) -> SitePublic:
    if principal.sites is not None and body.site_id not in principal.sites:
        raise field_error(("site_id",), "this key may only work within its own sites", status.HTTP_403_FORBIDDEN)
    if await session.get(Site, body.site_id) is not None:
        raise field_error(("site_id",), f"site {body.site_id!r} exists already", status.HTTP_409_CONFLICT)
    site = Site(id=body.site_id, name=body.name, timezone=body.timezone, phone=body.phone)
    session.add(site)
    await session.commit()
    return site_public(site)


@router.get("/sites/{site_id}", response_model=SitePublic, responses=NOT_YOURS)
async def read_site(site_id: str, principal: DirectoryReader, session: SessionDep) -> SitePublic:
    return site_public(await visible_site(session, principal, site_id))


@router.patch("/sites/{site_id}", response_model=SitePublic, responses=NOT_YOURS)
async def update_site(site_id: str, body: SiteUpdate, principal: SiteWriter, session: SessionDep) -> SitePublic:
    return site_public(await patched(session, await visible_site(session, principal, site_id), body))


@router.delete("/sites/{site_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS)
async def delete_site(site_id: str, principal: SiteWriter, session: SessionDep) -> Response:
    site = await visible_site(session, principal, site_id)
    for model, what in ((Household, "households"), (Gateway, "gateways")):
        if await session.scalar(select(func.count()).where(model.site_id == site_id)):
            raise field_error(("site_id",), f"site {site_id!r} still has {what}: move or delete them first", status.HTTP_409_CONFLICT)
    await session.delete(site)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- gateways -------------------------------------------------------------------------------------------


def gateway_public(gateway: Gateway) -> GatewayPublic:
    return GatewayPublic(
        gateway_id=gateway.id, site=gateway.site_id, name=gateway.name,
        has_mqtt_credentials=gateway.mqtt_password_hash is not None, credentials_issued_at=gateway.credentials_issued_at,
    )


@router.get("/gateways", response_model=Page[GatewayPublic])
async def list_gateways(
    principal: DirectoryReader, session: SessionDep, site: str | None = None, limit: Limit = 100, offset: Offset = 0
) -> dict[str, Any]:
    query = site_filter(select(Gateway), principal, Gateway.site_id).order_by(Gateway.id)
    if site is not None:
        query = query.where(Gateway.site_id == site)
    rows, total = await paged(session, query, limit, offset)
    return page([gateway_public(g) for g in rows], total, min(limit, MAX_PAGE), offset)


@router.post("/gateways", response_model=GatewayPublic, status_code=status.HTTP_201_CREATED)
async def create_gateway(body: GatewayCreate, principal: DirectoryWriter, session: SessionDep, services: ServicesDep) -> GatewayPublic:
    """The gateway id is its MQTT user name and client id: carewatch's own (``carewatch-…``, the configured ingest
    client id and user) are refused."""
    if reason := why_reserved(body.gateway_id, services.settings):
        raise field_error(("gateway_id",), reason)
    await writable_site(session, principal, body.site)
    if (existing := await session.get(Gateway, body.gateway_id)) is not None:
        raise id_taken(("gateway_id",), "gateway", body.gateway_id, principal, existing.site_id)
    gateway = Gateway(id=body.gateway_id, site_id=body.site, name=body.name)
    session.add(gateway)
    await session.commit()
    await changed(services)
    return gateway_public(gateway)


@router.get("/gateways/{gateway_id}", response_model=GatewayPublic, responses=NOT_YOURS)
async def read_gateway(gateway_id: str, principal: DirectoryReader, session: SessionDep) -> GatewayPublic:
    return gateway_public(await visible_gateway(session, principal, gateway_id))


@router.patch("/gateways/{gateway_id}", response_model=GatewayPublic, responses=NOT_YOURS)
async def update_gateway(gateway_id: str, body: GatewayUpdate, principal: DirectoryWriter, session: SessionDep) -> GatewayPublic:
    return gateway_public(await patched(session, await visible_gateway(session, principal, gateway_id), body))


@router.delete("/gateways/{gateway_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS)
async def delete_gateway(gateway_id: str, principal: DirectoryWriter, session: SessionDep, services: ServicesDep) -> Response:
    gateway = await visible_gateway(session, principal, gateway_id)
    if await session.scalar(select(func.count()).where(Household.gateway_id == gateway_id)):
        raise field_error(("gateway_id",), f"households still report through {gateway_id!r}: move them first", status.HTTP_409_CONFLICT)
    await session.delete(gateway)
    await session.commit()
    await changed(services)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class GatewayCredentials(BaseModel):
    gateway_id: str
    username: str = Field(description="The MQTT user name: the gateway id")
    password: str = Field(description="Shown once; carewatch keeps only its hash")
    publish_topics: list[str]
    files_written: bool = Field(description="The broker's password and ACL files were rewritten")
    broker_updated: bool = Field(description="The files were rewritten and the broker was told to reload them")


@router.post("/gateways/{gateway_id}/credentials", response_model=GatewayCredentials, responses=NOT_YOURS)
async def issue_credentials(
    gateway_id: str, principal: CredentialIssuer, session: SessionDep, services: ServicesDep, now: NowDep
) -> GatewayCredentials:
    """New MQTT credentials for the gateway (any earlier password stops working); it may publish only its own topics."""
    gateway = await visible_gateway(session, principal, gateway_id)
    if reason := why_reserved(gateway_id, services.settings):
        raise field_error(("gateway_id",), reason)
    password = new_password()
    gateway.mqtt_password_hash = mosquitto_hash(password)
    gateway.credentials_issued_at = now
    await session.commit()
    files = await write_broker_files(session, services.settings)
    prefix = f"{services.settings.mqtt_topic_prefix}/gateways/{gateway_id}"
    return GatewayCredentials(gateway_id=gateway_id, username=gateway_id, password=password,
                              publish_topics=[f"{prefix}/readings", f"{prefix}/status"], files_written=files.written, broker_updated=files.written and files.reloaded)


@router.delete("/gateways/{gateway_id}/credentials", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS)
async def revoke_credentials(gateway_id: str, principal: CredentialIssuer, session: SessionDep, services: ServicesDep) -> Response:
    """The gateway can no longer connect (the broker reloads its files)."""
    gateway = await visible_gateway(session, principal, gateway_id)
    gateway.mqtt_password_hash = None
    gateway.credentials_issued_at = None
    await session.commit()
    await write_broker_files(session, services.settings)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- meters ---------------------------------------------------------------------------------------------


def meter_public(meter: Meter) -> MeterPublic:
    return MeterPublic(meter_id=meter.id, household_id=meter.household_id, kind=meter.kind, interval_s=meter.interval_s,  # type: ignore[arg-type]
                       upload_every_s=meter.upload_every_s or 0.0)


@router.get("/meters", response_model=Page[MeterPublic])
async def list_meters(
    principal: DirectoryReader, session: SessionDep, household_id: str | None = None, limit: Limit = 100, offset: Offset = 0
) -> dict[str, Any]:
    query = site_filter(select(Meter).join(Household, Household.id == Meter.household_id), principal, Household.site_id)
    if household_id is not None:
        query = query.where(Meter.household_id == household_id)
    rows, total = await paged(session, query.order_by(Meter.id), limit, offset)
    return page([meter_public(m) for m in rows], total, min(limit, MAX_PAGE), offset)


@router.post("/meters", response_model=MeterPublic, status_code=status.HTTP_201_CREATED)
async def create_meter(body: MeterCreate, principal: DirectoryWriter, session: SessionDep, services: ServicesDep) -> MeterPublic:
    household = await session.get(Household, body.household_id)
    if household is None or not principal.sees(household.site_id):
        raise field_error(("household_id",), f"no household {body.household_id!r} among the sites you may change")
    used, owner_site = await meter_site(session, body.meter_id)
    if used:
        raise id_taken(("meter_id",), "meter", body.meter_id, principal, owner_site)
    meter = meter_row(body, body.household_id)
    session.add(meter)
    await session.commit()
    await changed(services)
    return meter_public(meter)


@router.get("/meters/{meter_id}", response_model=MeterPublic, responses=NOT_YOURS)
async def read_meter(meter_id: str, principal: DirectoryReader, session: SessionDep) -> MeterPublic:
    return meter_public((await visible_meter(session, principal, meter_id))[0])


@router.patch("/meters/{meter_id}", response_model=MeterPublic, responses=NOT_YOURS)
async def update_meter(meter_id: str, body: MeterUpdate, principal: DirectoryWriter, session: SessionDep, services: ServicesDep) -> MeterPublic:
    meter, _ = await visible_meter(session, principal, meter_id)
    meter.interval_s = body.interval_s
    await session.commit()
    await changed(services)
    return meter_public(meter)


@router.delete("/meters/{meter_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS)
async def delete_meter(meter_id: str, principal: DirectoryWriter, session: SessionDep, services: ServicesDep) -> Response:
    meter, _ = await visible_meter(session, principal, meter_id)
    await session.delete(meter)
    await session.commit()
    await changed(services)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
