"""The API's own documentation: /docs and /redoc load only what the app serves (they render with
no internet), and every operation has an operationId fit for client generators."""

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from api.main import DOCS_ASSETS_URL, create_app
from mentoring.settings import Settings

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
}


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    """The app without its lifespan: the docs need neither Postgres nor Temporal."""
    app = create_app(Settings(_env_file=None))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield client


class _Assets(HTMLParser):
    """Every URL a page loads by itself: scripts, stylesheets, icons, images, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "spec-url"):
            value = values.get(name)
            if value and (tag != "a" or name != "href"):
                self.urls.append(value)


def _assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_local_assets_which_are_served(
    api: httpx.AsyncClient, page: str
) -> None:
    response = await api.get(page)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "http://" not in response.text and "https://" not in response.text
    assert "fonts.googleapis" not in response.text
    urls = _assets(response.text)
    scripts = [url for url in urls if url.endswith(".js")]
    assert scripts and all(url.startswith(f"{DOCS_ASSETS_URL}/") for url in scripts)
    for url in urls:
        assert not urlsplit(url).netloc, url  # nothing from another host
        asset = await api.get(urljoin(page, url))
        assert asset.status_code == 200, url
        suffix = url[url.rfind(".") :]
        if suffix in CONTENT_TYPES:
            assert asset.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
        assert len(asset.content) > 1000, url


async def test_swagger_ui_asks_no_outside_validator(api: httpx.AsyncClient) -> None:
    """Swagger UI would otherwise show a badge loaded from validator.swagger.io."""
    page = (await api.get("/docs")).text

    assert '"validatorUrl": null' in page


async def test_every_operation_has_a_unique_snake_case_operation_id(
    api: httpx.AsyncClient,
) -> None:
    spec = (await api.get("/openapi.json")).json()

    ids = [
        operation["operationId"]
        for methods in spec["paths"].values()
        for operation in methods.values()
    ]

    assert len(ids) == len(set(ids)), sorted(ids)
    assert all(SNAKE_CASE.match(operation_id) for operation_id in ids), ids
    assert {"create_order", "get_order", "list_orders", "decide_order", "create_mentor"} <= set(ids)


async def test_every_request_body_has_an_example(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()

    missing = [
        f"{method.upper()} {path}"
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
        if "requestBody" in operation
        and not any(
            media.get("examples") or media.get("example")
            for media in operation["requestBody"]["content"].values()
        )
    ]

    assert missing == []
