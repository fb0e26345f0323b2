"""The machine as the read model sees it: the `OrderState` written at each transition."""

from mentoring.domain import Decision, OrderState, PaymentStatus
from workflows.machine.model import Machine


def admin_note(machine: Machine) -> str | None:
    if not machine.flags:
        return None
    return "; ".join(f"{code}: {detail}" if detail else str(code) for code, detail in machine.flags)


def order_state(machine: Machine) -> OrderState:
    m = machine
    payment = m.payment
    invoice = m.invoice
    if payment is not None:
        payment_status = PaymentStatus.PAID
    elif m.payment_expired:
        payment_status = PaymentStatus.EXPIRED
    else:
        payment_status = PaymentStatus.PENDING
    decision: Decision | None = None
    if m.decision is not None:
        decision = "approve" if m.decision else "decline"
    return OrderState(
        status=m.status,
        start_time=m.start,
        end_time=m.end,
        payment_deadline=m.payment_deadline,
        decision_deadline=m.decision_deadline,
        status_reason=m.reason_text or (str(m.reason) if m.reason else None),
        invoice_id=invoice.invoice_id if invoice else None,
        invoice_url=invoice.url if invoice else None,
        invoice_expires_at=invoice.expires_at if invoice else None,
        payment_status=payment_status,
        paid_amount=payment.amount if payment else None,
        paid_currency=payment.currency if payment else None,
        paid_at=payment.paid_at if payment else None,
        payment_method=payment.method if payment else None,
        payment_channel=payment.channel if payment else None,
        mentor_decision=decision,
        decision_reason=m.decision_text,
        decided_at=m.decided_at,
        calendar_event_id=m.event_id,
        meet_url=m.meet_url,
        refund_status=m.refund.status,
        refund_amount=m.refund.amount,
        refund_id=m.refund.refund_id,
        needs_admin=m.needs_admin,
        admin_note=admin_note(m),
    )
