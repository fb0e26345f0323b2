"""Liveness, readiness, metrics, OpenAPI."""

from tests.support import Stack


async def test_health_readiness_metrics_and_docs(stack: Stack) -> None:
    assert (await stack.api.get("/healthz")).json() == {"status": "ok"}
    ready = await stack.api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "postgres": "ok", "temporal": "ok"}
    # Metrics are not the API's to serve: they are on METRICS_PORT (tests/api/test_metrics.py).
    assert (await stack.api.get("/metrics")).status_code == 404
    spec = (await stack.api.get("/openapi.json")).json()
    assert "/v1/orders/{order_id}/decision" in spec["paths"]
