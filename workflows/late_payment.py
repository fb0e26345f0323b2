"""LatePaymentWorkflow: money that arrived for an order whose workflow has closed goes back.

The relay starts it (id `late-payment-<invoice_id>`, so a duplicate callback starts nothing)
when a PAID callback finds no open order; an open order starts it as a child for a payment to
another of its invoices (an orphan left by overlapping creations). The payment is believed only
once the invoice, read back from Xendit, says so and names the order; then it is refunded in
full, and the order's timeline says what happened.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.payments import GetInvoiceInput, RefundInput, XenditActivities
    from activities.records import AppendEventInput, TimelineActivities
    from mentoring.contract import LATE_PAYMENT_WORKFLOW
    from mentoring.domain import LatePaymentInput
    from workflows.bounds import PROVIDER, RECORD, REFUND

PAID_STATUSES = ("PAID", "SETTLED")


@workflow.defn(name=LATE_PAYMENT_WORKFLOW)
class LatePaymentWorkflow:
    @workflow.run
    async def run(self, late: LatePaymentInput) -> str:
        """Returns what became of the payment: refunded, not_paid, or flagged."""
        invoice_id = late.payment.invoice_id
        try:
            invoice = await workflow.execute_activity_method(
                XenditActivities.get_invoice,
                GetInvoiceInput(invoice_id),
                start_to_close_timeout=PROVIDER.start_to_close,
                schedule_to_close_timeout=PROVIDER.schedule_to_close,
                retry_policy=PROVIDER.retry,
            )
        except ActivityError:
            return await self._note(late, "late_payment_unverified", {"invoice_id": invoice_id})
        if invoice.external_id not in (None, late.order_id):
            data = {"invoice_id": invoice_id, "external_id": invoice.external_id}
            return await self._note(late, "late_payment_foreign_invoice", data)
        if invoice.status not in PAID_STATUSES or not invoice.paid_amount:
            return await self._note(late, "late_payment_not_confirmed", {"invoice_id": invoice_id})
        try:
            refund = await workflow.execute_activity_method(
                XenditActivities.refund_payment,
                RefundInput(
                    order_id=late.order_id,
                    invoice_id=invoice_id,
                    amount=invoice.paid_amount,
                    currency=invoice.paid_currency or "IDR",
                    payment_method=invoice.payment_method,
                    reason="CANCELLATION",
                ),
                start_to_close_timeout=REFUND.start_to_close,
                retry_policy=REFUND.retry,
            )
        except ActivityError:
            refund_data = {"invoice_id": invoice_id, "status": "manual_required"}
            return await self._note(late, "late_payment_refund_needs_admin", refund_data)
        data = {"invoice_id": invoice_id, "status": refund.status}
        if refund.refund_id:
            data["refund_id"] = refund.refund_id
        return await self._note(late, "late_payment_refunded", data)

    async def _note(self, late: LatePaymentInput, event: str, data: dict[str, str]) -> str:
        await workflow.execute_activity_method(
            TimelineActivities.append_event,
            AppendEventInput(late.order_id, event, data),
            start_to_close_timeout=RECORD.start_to_close,
            schedule_to_close_timeout=timedelta(hours=1),
            retry_policy=RECORD.retry,
        )
        return event
