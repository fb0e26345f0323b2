"""What the API and the relay need to talk to an order's workflow, and nothing more.

They address the workflow by these names (never by importing it), so importing the API loads
neither the workflow nor the provider SDKs its activities use. The message types themselves
live in `mentoring.domain`.
"""

from enum import StrEnum

ORDER_WORKFLOW = "MentoringOrderWorkflow"
LATE_PAYMENT_WORKFLOW = "LatePaymentWorkflow"
WEBHOOK_DELIVERY_WORKFLOW = "WebhookDeliveryWorkflow"


class Signal(StrEnum):
    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_EXPIRED = "payment_expired"
    REFUND_SETTLED = "refund_settled"
    WEBHOOK_MESSAGES = "webhook_messages"


class Update(StrEnum):
    INVOICE_READY = "invoice_ready"
    MENTOR_DECISION = "mentor_decision"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    RESOLVE = "resolve"


class Query(StrEnum):
    STATUS = "status"


def late_payment_workflow_id(invoice_id: str) -> str:
    return f"late-payment-{invoice_id}"


def webhook_delivery_workflow_id(endpoint_id: str, order_id: str) -> str:
    """One delivery per endpoint and order: an order's events reach an endpoint in order."""
    return f"webhooks-{endpoint_id}-{order_id}"
