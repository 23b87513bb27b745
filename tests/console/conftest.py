"""The console in a real browser: Debian's chromium driven by Playwright (``executable_path``, never a downloaded
browser build), and a duty officer signing in through the form. Screenshots go to test-artifacts/ for a person to
look at."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.services import missing_service

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PASSWORD = "night shift password"
TABLET = {"width": 1024, "height": 768}
"""A tablet in landscape, the duty room's screen."""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium, closed after the test; missing Playwright or chromium skips (fails under CI)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing_service("playwright for Python (pip install playwright)")
    if not Path(CHROMIUM).exists():
        missing_service("Debian chromium (/usr/bin/chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def signed_in(browser: Browser, url: str, username: str, password: str = PASSWORD, *, locale: str = "zh-CN",
                    viewport: dict[str, int] = TABLET, **options: Any) -> Page:
    """A new page that opened ``url`` and signed in on the form it was answered with (it then shows ``url``)."""
    page = await browser.new_page(viewport=viewport, locale=locale, **options)  # type: ignore[arg-type]
    await page.goto(url)
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button.primary")
    return page


async def screenshot(page: Page, name: str) -> None:
    """The whole page, kept in test-artifacts/ as ``name`` for a person to look at."""
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)
