"""Prometheus metrics served at /metrics."""

from prometheus_client import Counter

ORDERS_CREATED = Counter("mentoring_orders_created_total", "Orders whose invoice was issued")
WEBHOOKS_RECEIVED = Counter(
    "mentoring_webhooks_received_total", "Authentic Xendit callbacks stored", ["status"]
)
WEBHOOKS_REJECTED = Counter("mentoring_webhooks_rejected_total", "Callbacks with a bad token")
