"""The OpenAPI pages work on a network with no way out: every asset comes from the app itself."""

from __future__ import annotations

import re

import pytest

from tests.api.live import served
from tests.console.conftest import browser  # noqa: F401 - the shared Debian chromium fixture


def assets_of(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_pages_reference_only_assets_the_app_serves(client, page):
    response = await client.get(page)
    assert response.status_code == 200
    assets = assets_of(response.text)
    assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    for url in assets:
        served = await client.get(url)
        assert served.status_code == 200, url
        assert served.content, url


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_pages_may_load_scripts_from_the_app_only(client, page):
    policy = (await client.get(page)).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "http" not in policy  # no CDN, no font host


@pytest.mark.service
@pytest.mark.parametrize(("page", "rendered"), [("/docs", ".opblock"), ("/redoc", "[data-section-id]")])
async def test_the_api_pages_render_in_a_browser_that_reaches_nothing_else(app, page, rendered, browser):  # noqa: F811
    outside: list[str] = []
    problems: list[str] = []

    async with served(app) as base:
        browser_page = await browser.new_page()

        async def only_the_app(route):  # type: ignore[no-untyped-def]
            if route.request.url.startswith(base) or route.request.url.startswith(("data:", "blob:")):
                await route.continue_()
            else:
                outside.append(route.request.url)
                await route.abort()

        await browser_page.route("**/*", only_the_app)
        browser_page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        browser_page.on("pageerror", lambda e: problems.append(str(e)))
        await browser_page.goto(f"{base}{page}")
        await browser_page.wait_for_selector(rendered, timeout=30_000)

    assert outside == []
    # ReDoc's "API docs by Redocly" footer links its logo from redoc.ly, with no option to leave it out: the
    # policy refuses it, as it would any other outside request; the page is whole without it.
    assert [p for p in problems if "cdn.redoc.ly/redoc/logo-mini.svg" not in p] == []
