"""Provision a district in one request: JSON or CSV, every row checked, all written or none."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import Any

import orjson
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import Importer, ServicesDep
from api.mqtt_credentials import why_reserved
from api.routes.directory import changed
from api.directory_import import ImportPlan, RowError, apply, check, parse_csv, parse_json

MAX_BODY = 20 * 1024 * 1024

router = APIRouter(prefix="/api/import", tags=["import"])


class RowErrorPublic(BaseModel):
    row: str
    field: str
    message: str
    household_id: str | None


class ImportReport(BaseModel):
    imported: bool
    dry_run: bool
    sites_created: int = 0
    gateways_created: int = 0
    households_created: int = 0
    households_updated: int = 0
    meters: int = 0
    contacts: int = 0
    errors: list[RowErrorPublic] = []


BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "description": "Registry document v1 with optional sites and gateways (docs/registry.md)"}},
            "text/csv": {"schema": {"type": "string", "description": "One row per meter; header: " + "household_id,name,site,address,timezone,gateway_id,meter_id,kind,interval_s,phone,birth_year,notes"}},
        },
    }
}


@router.post("", response_model=ImportReport, openapi_extra=BODY_DOC,
             responses={422: {"model": ImportReport, "description": "Row errors; nothing was imported"}, 413: {"description": "Body too large"}})
async def import_district(request: Request, principal: Importer, services: ServicesDep, dry_run: bool = False) -> Any:
    """Create or replace (whole, meters included) every household in the body; sites and gateways named are created."""
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"detail": f"at most {MAX_BODY // (1024 * 1024)} MiB per import; split the district"}, status.HTTP_413_CONTENT_TOO_LARGE)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    plan = _parse(body, content_type)
    async with services.sessions.begin() as session:
        await check(session, plan, principal.sites, partial(why_reserved, settings=services.settings))
        if plan.errors:
            return _refused(plan, dry_run)
        result = await apply(session, plan)
        if dry_run:
            await session.rollback()
    if not dry_run:
        await changed(services)
    return ImportReport(imported=not dry_run, dry_run=dry_run, **asdict(result))


def _parse(body: bytes, content_type: str) -> ImportPlan:
    if content_type in ("text/csv", "application/csv"):
        try:
            return parse_csv(body.decode("utf-8"))
        except UnicodeDecodeError:
            return _document_error("the CSV must be UTF-8 encoded")
    try:
        return parse_json(orjson.loads(body))
    except orjson.JSONDecodeError as exc:
        return _document_error(f"not valid JSON ({exc}); send Content-Type: text/csv for CSV")


def _document_error(message: str) -> ImportPlan:
    return ImportPlan(errors=[RowError("(document)", "(body)", message)])


def _refused(plan: ImportPlan, dry_run: bool) -> JSONResponse:
    report = ImportReport(imported=False, dry_run=dry_run, errors=[RowErrorPublic(**asdict(e)) for e in plan.errors])
    return JSONResponse(report.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
