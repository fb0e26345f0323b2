"""The API's Prometheus metrics, served on METRICS_PORT (mentoring/metrics.py), never on the
API's own port: its requests by route template and status, the orders it created, Xendit's
callbacks. `observe(app)` installs the request metrics and the tracing of requests."""

import re
import time

from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mentoring.tracing import instrument_fastapi, tag_order

ORDERS_CREATED = Counter("mentoring_orders_created_total", "Orders whose invoice was issued")
WEBHOOKS_RECEIVED = Counter(
    "mentoring_webhooks_received_total", "Authentic Xendit callbacks stored", ["status"]
)
WEBHOOKS_DUPLICATE = Counter(
    "mentoring_webhooks_duplicate_total",
    "Authentic Xendit callbacks that repeat one stored before (same status, invoice and order)",
    ["status"],
)
WEBHOOKS_REJECTED = Counter("mentoring_webhooks_rejected_total", "Callbacks with a bad token")

HTTP_REQUESTS = Counter(
    "mentoring_http_requests_total",
    "Requests answered by the API, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "mentoring_http_request_duration_seconds",
    "Time to answer a request, by method, route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UNMATCHED_ROUTE = "unmatched"

# An order's own routes name it in the path: /v1/orders/<uuid>/...
_ORDER_PATH = re.compile(r"^/v1/orders/([0-9a-fA-F-]{36})(?:/|$)")


def route_of(scope: Scope) -> str:
    """The route's template (`/v1/orders/{order_id}`), never the path: no ids in labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class HttpMetrics:
    """Counts and times every HTTP request; tags an order's request with its id (the span of
    the request, when traced, and its log lines)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        order = _ORDER_PATH.match(scope.get("path", ""))
        if order is not None:
            tag_order(order[1].lower())
        status = 500  # unless the app answers: an exception past every handler
        began = time.perf_counter()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            labels = (scope.get("method", ""), route_of(scope), str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_DURATION.labels(*labels).observe(time.perf_counter() - began)


def observe(app: FastAPI) -> None:
    """Request metrics, and request spans when tracing is on."""
    app.add_middleware(HttpMetrics)
    instrument_fastapi(app)
