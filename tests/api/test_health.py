"""Liveness, readiness, metrics, OpenAPI."""

from tests.support import Stack


async def test_health_readiness_metrics_and_docs(stack: Stack) -> None:
    assert (await stack.api.get("/healthz")).json() == {"status": "ok"}
    ready = await stack.api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "postgres": "ok", "temporal": "ok"}
    metrics = await stack.api.get("/metrics/")
    assert "mentoring_orders_created_total" in metrics.text
    spec = (await stack.api.get("/openapi.json")).json()
    assert "/v1/orders/{order_id}/decision" in spec["paths"]
