"""The OpenAPI pages, /docs (Swagger UI) and /redoc, served whole from this process: they work offline.

Swagger UI and ReDoc come from the fastapi-offline package (Apache-2.0 and MIT, their licenses ship
with it); Swagger UI starts from api/static/swagger-init.js rather than an inline script, so these pages
run under a Content-Security-Policy that allows scripts from 'self' only (api/security_headers.py).
"""

from __future__ import annotations

from html import escape
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

ASSETS_URL = "/docs-assets"
ASSETS_DIR = files("fastapi_offline") / "static"
DOCS_PATHS = ("/docs", "/redoc")

router = APIRouter(include_in_schema=False)


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{ASSETS_URL}/favicon.png">{head}</head>
<body>{body}</body></html>"""
    )


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return _page(
        "carewatch API",
        f'<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">',
        f'<div id="swagger-ui" data-openapi-url="/openapi.json"></div>'
        f'<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script><script src="/static/swagger-init.js"></script>',
    )


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return _page(
        "carewatch API",
        "",
        f'<redoc spec-url="/openapi.json"></redoc><script src="{ASSETS_URL}/redoc.standalone.js"></script>',
    )
