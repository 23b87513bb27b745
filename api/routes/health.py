"""Liveness and readiness, for supervisors and load balancers.

`/livez`: the process answers (restart it when this fails).  `/readyz`: it is doing its job — the
database takes writes, and the runner's own checks pass (MQTT connected and subscribed, the pipeline
not stuck with messages waiting); 503 names every check that failed.  `/healthz` is `/readyz`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ServicesDep, SessionDep
from ingest.records import probe_write

router = APIRouter(tags=["health"])


@router.get("/livez")
async def livez() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
@router.get("/healthz")
async def readyz(session: SessionDep, services: ServicesDep) -> JSONResponse:
    problems = [] if services.readiness is None else list(services.readiness())
    try:
        # A write, rolled back: a read-only or full database fails here, where a SELECT would pass.
        await probe_write(session)
        await session.rollback()
    except (SQLAlchemyError, OSError) as exc:
        problems.append(f"database takes no write: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok"})
