"""Metrics on METRICS_PORT (the API's requests, Xendit's callbacks, the orders' transitions) and
the Temporal SDK's on METRICS_PORT + 1, after a real order; the Grafana dashboard queries only
metrics that are there."""

import json
import re
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mentoring.metrics import sdk_metrics_port
from tests.support import Stack, paid_callback

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = REPO_ROOT / "ops" / "grafana" / "mentoring.json"
EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}
_METRIC_NAME = re.compile(r"\b(?:mentoring|temporal)_[a-z0-9_]+\b")
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


async def _exposition(port: int) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    return response.text


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(text: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(
        value
        for (sample, sample_labels), value in _samples(text).items()
        if sample == name and wanted <= sample_labels
    )


def _names(text: str) -> set[str]:
    """Every series name the exposition declares, with or without samples yet."""
    names = {name for name, _ in _samples(text)}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(name)
            if kind == "histogram":
                names |= {name + suffix for suffix in _HISTOGRAM_SUFFIXES}
    return names


async def test_metrics_of_a_real_order_on_the_metrics_ports(stack: Stack) -> None:
    own_port, sdk_port = stack.settings.metrics_port, sdk_metrics_port(stack.settings)
    before = await _exposition(own_port)
    mentor, order = await stack.new_order()
    paid = await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    assert paid["callback"]["status_code"] == 200
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    # Xendit sends the same callback again, and someone without the token forges one.
    headers = {"x-callback-token": stack.settings.xendit_callback_token}
    again = await stack.api.post(
        "/v1/webhooks/xendit/invoice", json=paid_callback(order, **EWALLET), headers=headers
    )
    assert again.status_code == 200, again.text
    forged = await stack.api.post(
        "/v1/webhooks/xendit/invoice",
        json=paid_callback(order, **EWALLET),
        headers={"x-callback-token": "forged"},
    )
    assert forged.status_code == 401
    assert (await stack.decide(order["id"], "approve")).status_code == 200
    await stack.wait_for_status(order["id"], "confirmed")
    after, sdk = await _exposition(own_port), await _exposition(sdk_port)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    # The API's requests, by route template (no ids) and status.
    created = {"method": "POST", "route": "/v1/orders", "status": "201"}
    assert grew("mentoring_http_requests_total", **created) == 1
    assert grew("mentoring_http_request_duration_seconds_count", **created) == 1
    decided = {"route": "/v1/orders/{order_id}/decision", "status": "200"}
    assert grew("mentoring_http_requests_total", **decided) == 1
    assert order["id"] not in after
    assert grew("mentoring_orders_created_total") == 1
    # Xendit's callbacks: received (twice), one a duplicate, one forged.
    assert grew("mentoring_webhooks_received_total", status="PAID") == 2
    assert grew("mentoring_webhooks_duplicate_total", status="PAID") == 1
    assert grew("mentoring_webhooks_rejected_total") == 1
    # The order's transitions, each counted once, and its time from paid to confirmed.
    for left, reached in (
        ("awaiting_payment", "awaiting_mentor"),
        ("awaiting_mentor", "scheduling"),
        ("scheduling", "confirmed"),
    ):
        transition = {"from_status": left, "to_status": reached, "reason": ""}
        assert grew("mentoring_order_transitions_total", **transition) >= 1
    assert grew("mentoring_order_paid_to_confirmed_seconds_count") >= 1
    # The Temporal SDK's own: the worker's tasks and the client's requests.
    assert (
        _value(
            sdk, "temporal_activity_execution_latency_seconds_count", activity_type="book_session"
        )
        >= 1
    )
    assert _value(sdk, "temporal_workflow_task_execution_latency_seconds_count") >= 1

    # Every metric the dashboard queries is in one of the two expositions.
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    assert len(queries) > 15
    queried = {name for query in queries for name in _METRIC_NAME.findall(query)}
    assert {"mentoring_order_transitions_total", "temporal_request_total"} <= queried
    missing = queried - _names(after) - _names(sdk)
    assert missing == set(), f"the dashboard queries metrics nobody exposes: {missing}"
    assert mentor["email"] not in after + sdk
