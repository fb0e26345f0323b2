"""The orders' metrics, taken where transitions are written: what each transition counts, and
that a retried transition counts nothing."""

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from activities.order_metrics import flags_of, observe_transition
from activities.records import RecordActivities
from mentoring.domain import OrderState, OrderStatus, RefundStatus, TransitionRecord
from tests.support import Stack

NOW = datetime(2030, 3, 1, 10, tzinfo=UTC)


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _record(
    event: str, left: OrderStatus, reached: OrderStatus, seq: int = 5, **state: object
) -> TransitionRecord:
    order_state = OrderState(
        status=reached,
        start_time=NOW + timedelta(days=2),
        end_time=NOW + timedelta(days=2, hours=1),
        payment_deadline=NOW + timedelta(hours=1),
        **state,  # type: ignore[arg-type]
    )
    return TransitionRecord(
        order_id="6f1c2b1e-0000-4000-8000-000000000001",
        seq=seq,
        at=NOW,
        event=event,
        from_status=str(left),
        to_status=str(reached),
        state=order_state,
    )


def test_flags_are_read_from_the_admin_note() -> None:
    note = "payment_mismatch: 100000 IDR; email_failed: confirmed:mentee; refund_still_pending"
    assert flags_of(note) == {"payment_mismatch", "email_failed", "refund_still_pending"}
    assert flags_of(None) == set()


def test_each_transition_counts_its_status_change_refund_and_new_flags() -> None:
    ended = {"from_status": "scheduling", "to_status": "failed", "reason": "booking_failed"}
    before = {
        "ended": _value("mentoring_order_transitions_total", **ended),
        "refund": _value("mentoring_refunds_total", status="requested"),
        "booking": _value("mentoring_orders_flagged_total", flag="booking_failed"),
        "email": _value("mentoring_orders_flagged_total", flag="email_failed"),
    }
    failed = _record(
        "booking_failed",
        OrderStatus.SCHEDULING,
        OrderStatus.FAILED,
        status_reason="booking_failed",
        needs_admin=True,
        admin_note="email_failed: confirmed:mentor; booking_failed: google said no",
    )
    observe_transition(failed, previous_admin_note="email_failed: confirmed:mentor")
    refund = _record(
        "refund_requested",
        OrderStatus.FAILED,
        OrderStatus.FAILED,
        refund_status=RefundStatus.PENDING,
        admin_note=failed.state.admin_note,
    )
    observe_transition(refund, previous_admin_note=failed.state.admin_note)
    assert _value("mentoring_order_transitions_total", **ended) == before["ended"] + 1
    assert _value("mentoring_refunds_total", status="requested") == before["refund"] + 1
    # Only the flag this transition raised; the one already open is not counted again.
    assert _value("mentoring_orders_flagged_total", flag="booking_failed") == before["booking"] + 1
    assert _value("mentoring_orders_flagged_total", flag="email_failed") == before["email"]


def test_paid_to_confirmed_is_the_time_since_the_payment() -> None:
    before = _value("mentoring_order_paid_to_confirmed_seconds_sum")
    confirmed = _record(
        "session_booked",
        OrderStatus.SCHEDULING,
        OrderStatus.CONFIRMED,
        paid_at=NOW - timedelta(minutes=10),
    )
    observe_transition(confirmed, previous_admin_note=None)
    assert _value("mentoring_order_paid_to_confirmed_seconds_sum") - before == 600


async def test_a_retried_transition_counts_nothing(stack: Stack) -> None:
    _, order = await stack.new_order()
    await stack.wait_for_status(order["id"], "awaiting_payment")
    created = {"from_status": "", "to_status": "awaiting_payment", "reason": ""}
    before = _value("mentoring_order_transitions_total", **created)
    # Its first timeline row again (seq 1), as a retry would write it: nothing new is written.
    retry = _record("created", OrderStatus.AWAITING_PAYMENT, OrderStatus.AWAITING_PAYMENT, seq=1)
    retry.order_id, retry.from_status = order["id"], None
    await RecordActivities(stack.engine).record_transition(retry)
    assert _value("mentoring_order_transitions_total", **created) == before
    assert (await stack.get_order(order["id"]))["status"] == "awaiting_payment"
