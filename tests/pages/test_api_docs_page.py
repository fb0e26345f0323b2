"""The API's documentation, opened in a browser with nothing but this service to load from."""

from typing import Any

from playwright.async_api import Browser, Route

from tests.pages.conftest import measure, screenshot
from tests.support import Stack

# ReDoc's bundle asks for Redocly's logo and removes the image when it does not load.
DECORATION_ALLOWED_TO_FAIL = "https://cdn.redoc.ly/redoc/logo-mini.svg"


async def test_swagger_ui_and_redoc_render_every_operation_offline(
    stack: Stack, browser: Browser
) -> None:
    openapi: dict[str, Any] = (await stack.api.get("/openapi.json")).json()
    paths = openapi["paths"].values()
    operations = {operation["operationId"] for path in paths for operation in path.values()}
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    async def refuse_the_internet(route: Route) -> None:
        outside.append(route.request.url)
        await route.abort()

    base = stack.settings.public_base_url
    await context.route(lambda url: not url.startswith(base), refuse_the_internet)
    page = await context.new_page()
    try:
        await page.goto(f"{base}/docs")
        await page.wait_for_selector(".opblock")
        shown = await page.locator(".opblock").count()
        assert shown == len(operations), (shown, sorted(operations))
        await screenshot(page, "api-docs-swagger", full_page=False)
        await page.locator(".opblock-summary").first.click()
        await page.wait_for_selector(".opblock-body")
        await measure(page, "api-docs-swagger")

        await page.goto(f"{base}/redoc")
        await page.wait_for_selector("[data-section-id^='operation/']")
        sections = await page.locator("[data-section-id^='operation/']").count()
        assert sections == len(operations)
        await page.wait_for_selector("img[alt='redocly logo']", state="detached")
        await screenshot(page, "api-docs-redoc", full_page=False)
    finally:
        await context.close()
    assert set(outside) <= {DECORATION_ALLOWED_TO_FAIL}, outside
