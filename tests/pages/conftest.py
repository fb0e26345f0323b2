"""A real browser for the pages: Debian's Chromium driven by Playwright on a phone-sized
viewport. Nothing downloads a browser: `make test` installs Debian's `chromium` or says how."""

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
PHONE = ViewportSize(width=360, height=740)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"


def _chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = _chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, headless=True)
        yield chromium
        await chromium.close()


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = await context.new_page()
    yield page
    await context.close()


async def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """A picture of what the person sees (the whole page, or the window), under
    test-artifacts/pages/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


MEASUREMENTS = ARTIFACTS / "measurements.json"
PAGE_BUDGET_BYTES = 30_000
"""What one of our pages may weigh, everything it loads included: they are meant to open at
once on a phone on a slow mobile connection."""


async def measure(page: Page, name: str) -> dict[str, float]:
    """The page's weight (bytes of every body it loaded, before compression is undone, and how
    many requests) and how long it took to render (first contentful paint, DOM content loaded,
    load, in ms), added to test-artifacts/pages/measurements.json. Figures, not a timing test."""
    await page.wait_for_load_state("load")
    figures: dict[str, float] = await page.evaluate(
        """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const resources = performance.getEntriesByType('resource');
            const paint = performance.getEntriesByName('first-contentful-paint')[0];
            return {
                bytes: nav.encodedBodySize + resources.reduce((n, r) => n + r.encodedBodySize, 0),
                requests: 1 + resources.length,
                first_contentful_paint_ms: paint ? Math.round(paint.startTime) : -1,
                dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
                load_ms: Math.round(nav.loadEventEnd),
            };
        }"""
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    known = json.loads(MEASUREMENTS.read_text()) if MEASUREMENTS.exists() else {}
    MEASUREMENTS.write_text(json.dumps({**known, name: figures}, indent=2, sort_keys=True))
    return figures
