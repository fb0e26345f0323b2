"""One test per transition of the design's state machine, end to end through HTTP.

Deadlines, reminders and completion run on the workflow's own clock: the dev server's per-workflow
time skipping moves it forward, so no test waits real hours.
"""

from datetime import datetime, timedelta
from typing import Any

from activities.email_templates import when
from mentoring.domain import calendar_event_id_for, workflow_id_for
from tests.support import Stack, html_text, paid_callback, session_start, wait_until

EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}


async def _order(stack: Stack, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    mentor = await stack.create_mentor()
    overrides.setdefault(
        "mentee", {"name": "Budi Santoso", "email": f"mentee-{mentor['id'][:8]}@example.com"}
    )
    overrides["mentee"].setdefault("locale", "en")
    response = await stack.create_order(mentor["id"], **overrides)
    assert response.status_code == 201, response.text
    return mentor, response.json()


async def _confirmed(stack: Stack, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    mentor, order = await _order(stack, **overrides)
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    assert (await stack.decide(order["id"], "approve")).status_code == 200
    return mentor, await stack.wait_for_status(order["id"], "confirmed")


async def _advance(stack: Stack, order_id: str, by: timedelta) -> None:
    """Move the order's workflow clock forward by `by`, firing its timers on the way."""
    handle = stack.client.get_workflow_handle(workflow_id_for(order_id))
    assert await stack.skipper.fast_forward(handle, by)


async def _cancel(stack: Stack, order_id: str, headers: dict[str, str], **body: Any) -> Any:
    return await stack.api.post(f"/v1/orders/{order_id}/cancel", json=body, headers=headers)


async def _reschedule(stack: Stack, order_id: str, start: datetime) -> Any:
    return await stack.api.post(
        f"/v1/orders/{order_id}/reschedule",
        json={"start_time": start.isoformat()},
        headers=stack.frontend,
    )


async def _past_cancellation_cutoff(stack: Stack, order: dict[str, Any]) -> None:
    """An hour past the mentee's cancellation cutoff, on the order's own clock."""
    start = datetime.fromisoformat(order["start_time"])
    cutoff = start - stack.settings.mentee_cancellation_cutoff
    now = datetime.fromisoformat(order["updated_at"])
    await _advance(stack, order["id"], cutoff - now + timedelta(hours=1))


def _events(order: dict[str, Any]) -> list[str]:
    return [entry["event"] for entry in order["timeline"]]


async def _invoice(stack: Stack, order_id: str) -> dict[str, Any]:
    invoices = (await stack.sandbox.get("/sandbox/invoices")).json()
    [mine] = [i for i in invoices if i["external_id"] == order_id]
    result: dict[str, Any] = mine
    return result


async def _refunds(stack: Stack, invoice_id: str) -> list[dict[str, Any]]:
    refunds = (await stack.sandbox.get("/sandbox/refunds")).json()
    return [r for r in refunds if r["invoice_id"] == invoice_id]


async def _refund_settled(stack: Stack, order_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        order = await stack.get_order(order_id)
        return order if order["refund"]["status"] == status else None

    return await wait_until(probe, f"the refund of {order_id} to be {status}")


async def _live_event(stack: Stack, order_id: str) -> dict[str, Any] | None:
    events = await stack.events_for(calendar_event_id_for(order_id))
    assert len(events) <= 1
    return events[0] if events and events[0]["status"] != "cancelled" else None


# ---- awaiting_payment ---------------------------------------------------------------------------


async def test_paid_without_decision_waits_for_the_mentor_with_a_deadline(stack: Stack) -> None:
    mentor, order = await _order(stack)
    await stack.wait_for_template(order["mentee"]["email"], "invoice")
    assert await stack.mail_to(mentor["email"]) == [], "the mentor is asked once it is paid"

    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    paid = await stack.wait_for_status(order["id"], "awaiting_mentor")

    assert paid["payment"]["method"] == "EWALLET" and paid["payment"]["channel"] == "OVO"
    deadline = datetime.fromisoformat(paid["mentor_decision"]["deadline"])
    paid_at = datetime.fromisoformat(paid["payment"]["paid_at"])
    assert timedelta(hours=23) < deadline - paid_at <= timedelta(hours=24, minutes=1)
    assert "payment_received" in await stack.wait_for_template(
        order["mentee"]["email"], "payment_received"
    )
    await stack.wait_for_template(mentor["email"], "mentor_request")
    [request] = await stack.mail_to(mentor["email"])
    # The order's own deadline, as the mentor reads it: their language, zone and its name.
    promised = when(deadline, mentor["timezone"], mentor.get("locale") or "id")
    assert promised in request["body"] and promised in html_text(request["html"])
    assert await _live_event(stack, order["id"]) is None


async def test_short_payment_is_flagged_and_never_confirms(stack: Stack) -> None:
    _, order = await _order(stack)
    assert (await stack.decide(order["id"], "approve")).status_code == 200

    await stack.pay(order["payment"]["invoice_id"], paid_amount=100_000, **EWALLET)

    async def flagged() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        return current if current["needs_admin"] else None

    current = await wait_until(flagged, "the short payment to be flagged")
    assert current["status"] == "awaiting_payment"
    assert "payment_mismatch" in _events(current)
    assert "payment_mismatch" in (current["admin_note"] or "")
    await stack.wait_for_template(order["mentee"]["email"], "payment_problem")
    assert await _live_event(stack, order["id"]) is None


async def test_short_payment_is_refunded_when_the_payment_deadline_passes(stack: Stack) -> None:
    _, order = await _order(stack)
    await stack.pay(order["payment"]["invoice_id"], paid_amount=100_000, **EWALLET)

    async def flagged() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        return current if current["needs_admin"] else None

    await wait_until(flagged, "the short payment to be flagged")
    await _advance(stack, order["id"], timedelta(minutes=61))

    expired = await _refund_settled(stack, order["id"], "succeeded")
    assert expired["status"] == "expired"
    assert expired["refund"]["amount"] == 100_000
    [refund] = await _refunds(stack, order["payment"]["invoice_id"])
    assert refund["amount"] == 100_000
    assert _events(expired).count("payment_mismatch") == 1
    # The emails name what was paid and given back, never the price.
    await stack.wait_for_template(order["mentee"]["email"], "refund_issued")
    mail = await stack.mail_to(order["mentee"]["email"])
    [refunded] = [m for m in mail if m["subject"].startswith("Refund")]
    [problem] = [m for m in mail if "needs a check" in m["subject"]]
    for shown in (refunded["body"], html_text(refunded["html"])):
        assert "IDR\N{NO-BREAK SPACE}100,000" in shown and "300,000" not in shown
    assert "IDR\N{NO-BREAK SPACE}100,000" in problem["body"]


async def test_a_callback_is_believed_only_as_far_as_the_invoice_read_back(stack: Stack) -> None:
    """The callback claims a foreign currency; Xendit's invoice says paid in full in IDR: the
    invoice is the truth, so the order goes on (and nothing is flagged)."""
    _, order = await _order(stack)
    assert (await stack.decide(order["id"], "approve")).status_code == 200

    await stack.pay(order["payment"]["invoice_id"], currency="USD", **EWALLET)

    confirmed = await stack.wait_for_status(order["id"], "confirmed")
    assert confirmed["payment"]["status"] == "paid" and not confirmed["needs_admin"]


async def test_a_paid_callback_for_an_unpaid_invoice_books_nothing(stack: Stack) -> None:
    """A PAID callback with the right token, for an invoice Xendit says is still pending."""
    _, order = await _order(stack)
    assert (await stack.decide(order["id"], "approve")).status_code == 200

    forged = paid_callback(order, payment_method="EWALLET")
    headers = {"x-callback-token": stack.settings.xendit_callback_token}
    response = await stack.api.post("/v1/webhooks/xendit/invoice", json=forged, headers=headers)
    assert response.status_code == 200, response.text

    async def flagged() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        return current if "payment_not_confirmed" in _events(current) else None

    current = await wait_until(flagged, "the unconfirmed payment to be recorded")
    assert current["status"] == "awaiting_payment" and current["needs_admin"]
    assert "payment_unverified" in current["admin_note"]
    assert current["payment"]["status"] == "pending"
    assert await _live_event(stack, order["id"]) is None


async def test_decline_before_payment_expires_the_invoice(stack: Stack) -> None:
    mentor, order = await _order(stack)

    response = await stack.decide(order["id"], "decline", "travelling that week")
    assert response.status_code == 200, response.text

    declined = await stack.wait_for_status(order["id"], "declined")
    assert declined["status_reason"] == "travelling that week"
    assert declined["refund"]["status"] == "none"
    assert (await _invoice(stack, order["id"]))["status"] == "EXPIRED"
    await stack.wait_for_template(order["mentee"]["email"], "declined")
    await stack.wait_for_template(mentor["email"], "declined")
    mail = await stack.mail_to(order["mentee"]["email"])
    assert any("travelling that week" in (m["body"] or "") for m in mail)


async def test_cancel_before_payment_expires_the_invoice(stack: Stack) -> None:
    mentor, order = await _order(stack)

    response = await _cancel(stack, order["id"], stack.frontend, reason="found another mentor")
    assert response.status_code == 200, response.text

    cancelled = await stack.wait_for_status(order["id"], "cancelled")
    assert cancelled["refund"]["status"] == "none"
    assert (await _invoice(stack, order["id"]))["status"] == "EXPIRED"
    await stack.wait_for_template(order["mentee"]["email"], "cancelled")
    assert await stack.mail_to(mentor["email"]) == [], "never asked, the mentor is not troubled"
    again = await stack.create_order(mentor["id"])
    assert again.status_code == 201, "a cancelled order releases its slot"


async def test_late_payment_after_expiry_is_refunded(stack: Stack) -> None:
    _, order = await _order(stack)
    invoice_id = order["payment"]["invoice_id"]
    await stack.sandbox.post(f"/sandbox/invoices/{invoice_id}/expire")
    await stack.wait_for_status(order["id"], "expired")

    await stack.pay(invoice_id, after_expiry=True, **EWALLET)

    refunded = await _refund_settled(stack, order["id"], "succeeded")
    assert refunded["status"] == "expired"
    assert refunded["refund"]["amount"] == 300_000
    assert "late_payment" in _events(refunded)
    assert len(await _refunds(stack, invoice_id)) == 1
    await stack.wait_for_template(order["mentee"]["email"], "refund_issued")


# ---- awaiting_mentor ----------------------------------------------------------------------------


async def test_decline_after_payment_refunds_in_full(stack: Stack) -> None:
    mentor, order = await _order(stack)
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")

    response = await stack.decide(order["id"], "decline", "not my field")
    assert response.status_code == 200, response.text

    declined = await _refund_settled(stack, order["id"], "succeeded")
    assert declined["status"] == "declined"
    assert declined["refund"]["amount"] == 300_000
    [refund] = await _refunds(stack, order["payment"]["invoice_id"])
    assert refund["amount"] == 300_000
    await stack.wait_for_template(order["mentee"]["email"], "refund_issued")
    await stack.wait_for_template(order["mentee"]["email"], "declined")
    await stack.wait_for_template(mentor["email"], "declined")


async def test_bank_transfer_refund_is_manual_and_flagged(stack: Stack) -> None:
    _, order = await _order(stack)
    await stack.pay(order["payment"]["invoice_id"])  # BCA virtual account
    await stack.wait_for_status(order["id"], "awaiting_mentor")

    assert (await stack.decide(order["id"], "decline")).status_code == 200

    declined = await _refund_settled(stack, order["id"], "manual_required")
    assert declined["needs_admin"]
    assert "BANK_TRANSFER" in declined["admin_note"]
    assert await _refunds(stack, order["payment"]["invoice_id"]) == []


async def test_mentor_silence_reminds_once_then_declines_with_refund(stack: Stack) -> None:
    mentor, order = await _order(stack)
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")

    await _advance(stack, order["id"], timedelta(hours=12, minutes=5))
    await stack.wait_for_template(mentor["email"], "mentor_reminder")
    assert (await stack.get_order(order["id"]))["status"] == "awaiting_mentor"

    await _advance(stack, order["id"], timedelta(hours=12))
    declined = await _refund_settled(stack, order["id"], "succeeded")
    assert declined["status"] == "declined"
    assert declined["status_reason"] == "mentor_did_not_answer"
    assert (await stack.templates_sent(mentor["email"])).count("mentor_reminder") == 1


async def test_deciding_twice_is_refused(stack: Stack) -> None:
    _, order = await _order(stack)
    assert (await stack.decide(order["id"], "approve")).status_code == 200

    again = await stack.decide(order["id"], "decline")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "decision_not_allowed"
    current = await stack.get_order(order["id"])
    assert current["mentor_decision"]["decision"] == "approve"


# ---- scheduling ---------------------------------------------------------------------------------


async def test_meet_room_failure_fails_the_order_with_refund(stack: Stack) -> None:
    _, order = await _order(stack)
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    fault = await stack.sandbox.post("/sandbox/faults", json={"operation": "calendar.conference"})
    assert fault.status_code == 201

    assert (await stack.decide(order["id"], "approve")).status_code == 200

    failed = await _refund_settled(stack, order["id"], "succeeded")
    assert failed["status"] == "failed"
    assert failed["needs_admin"] and "booking_failed" in failed["admin_note"]
    assert await _live_event(stack, order["id"]) is None
    await stack.wait_for_template(order["mentee"]["email"], "refund_issued")


async def test_calendar_refusal_fails_the_order_with_refund(stack: Stack) -> None:
    _, order = await _order(stack)
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    fault = {"operation": "calendar.events.insert", "status": 403}
    assert (await stack.sandbox.post("/sandbox/faults", json=fault)).status_code == 201

    assert (await stack.decide(order["id"], "approve")).status_code == 200

    failed = await _refund_settled(stack, order["id"], "succeeded")
    assert failed["status"] == "failed"
    assert "booking_failed" in _events(failed)


async def test_calendar_outage_is_retried_and_books_once(stack: Stack) -> None:
    _, order = await _order(stack)
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    fault = {"operation": "calendar.events.insert", "status": 503, "times": 2}
    assert (await stack.sandbox.post("/sandbox/faults", json=fault)).status_code == 201

    assert (await stack.decide(order["id"], "approve")).status_code == 200

    confirmed = await stack.wait_for_status(order["id"], "confirmed")
    assert confirmed["refund"]["status"] == "none"
    assert len(await stack.events_for(calendar_event_id_for(order["id"]))) == 1


# ---- confirmed ----------------------------------------------------------------------------------


async def test_reminders_then_completion(stack: Stack) -> None:
    mentor, order = await _confirmed(stack)
    until_first = datetime.fromisoformat(order["start_time"]) - timedelta(hours=24)
    lead = until_first - datetime.fromisoformat(order["updated_at"])

    await _advance(stack, order["id"], lead + timedelta(minutes=5))
    await stack.wait_for_template(order["mentee"]["email"], "reminder")
    await stack.wait_for_template(mentor["email"], "reminder")

    await _advance(stack, order["id"], timedelta(hours=23))
    await stack.wait_for_template(order["mentee"]["email"], "reminder", count=2)
    mentee_mail = await stack.mail_to(order["mentee"]["email"])
    reminders = [m for m in mentee_mail if m["subject"].startswith("Reminder")]
    assert all(order["session"]["meet_url"] in m["body"] for m in reminders)

    await _advance(stack, order["id"], timedelta(hours=2))
    completed = await stack.wait_for_status(order["id"], "completed")
    assert _events(completed).count("reminder_sent") == 2
    await stack.wait_for_template(order["mentee"]["email"], "completed")
    assert (await stack.templates_sent(order["mentee"]["email"])).count("reminder") == 2
    again = await stack.create_order(mentor["id"], start_time=order["start_time"])
    assert again.status_code == 201, "a completed order releases its slot"


async def test_reminders_already_past_at_confirmation_are_skipped(stack: Stack) -> None:
    start = session_start(days_ahead=0) + timedelta(hours=5)
    while start - datetime.now(start.tzinfo) < timedelta(hours=4):
        start += timedelta(hours=1)
    mentor, order = await _confirmed(stack, start_time=start)

    await _advance(stack, order["id"], start - datetime.now(start.tzinfo) + timedelta(hours=2))

    await stack.wait_for_status(order["id"], "completed")
    await stack.wait_for_template(order["mentee"]["email"], "completed")
    assert (await stack.templates_sent(order["mentee"]["email"])).count("reminder") == 1
    assert (await stack.templates_sent(mentor["email"])).count("reminder") == 1


async def test_mentee_cancels_before_cutoff_with_full_refund(stack: Stack) -> None:
    mentor, order = await _confirmed(stack)

    response = await _cancel(stack, order["id"], stack.frontend, reason="exam moved")
    assert response.status_code == 200, response.text

    cancelled = await _refund_settled(stack, order["id"], "succeeded")
    assert cancelled["status"] == "cancelled"
    assert cancelled["refund"]["amount"] == 300_000
    [event] = await stack.events_for(calendar_event_id_for(order["id"]))
    assert event["status"] == "cancelled"
    await stack.wait_for_template(mentor["email"], "cancelled")
    await stack.wait_for_template(order["mentee"]["email"], "cancelled")


async def test_after_cutoff_mentee_is_refused_but_admin_cancels(stack: Stack) -> None:
    _, order = await _confirmed(stack)
    await _past_cancellation_cutoff(stack, order)

    refused = await _cancel(stack, order["id"], stack.frontend, reason="changed my mind")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "cancellation_window_closed"
    assert (await stack.get_order(order["id"]))["status"] == "confirmed"

    response = await _cancel(stack, order["id"], stack.admin, reason="mentor is ill")
    assert response.status_code == 200, response.text
    cancelled = await _refund_settled(stack, order["id"], "succeeded")
    assert cancelled["status"] == "cancelled"
    assert "request_refused" in _events(cancelled)


async def test_after_cutoff_the_mentor_cancels_with_full_refund(stack: Stack) -> None:
    mentor, order = await _confirmed(stack)
    await _past_cancellation_cutoff(stack, order)

    response = await _cancel(stack, order["id"], stack.frontend, reason="ill", by="mentor")

    assert response.status_code == 200, response.text
    cancelled = await _refund_settled(stack, order["id"], "succeeded")
    assert cancelled["status"] == "cancelled"
    [entry] = [e for e in cancelled["timeline"] if e["event"] == "cancelled"]
    assert entry["data"]["by"] == "mentor"
    await stack.wait_for_template(order["mentee"]["email"], "cancelled")
    await stack.wait_for_template(mentor["email"], "cancelled")


async def test_mentee_cancels_an_unpaid_order_even_after_the_cutoff(stack: Stack) -> None:
    start = session_start(days_ahead=0) + timedelta(hours=5)
    while start - datetime.now(start.tzinfo) < timedelta(hours=4):
        start += timedelta(hours=1)
    _, order = await _order(stack, start_time=start)

    response = await _cancel(stack, order["id"], stack.frontend, reason="cannot pay today")

    assert response.status_code == 200, response.text
    cancelled = await stack.wait_for_status(order["id"], "cancelled")
    assert cancelled["refund"]["status"] == "none"
    assert (await _invoice(stack, order["id"]))["status"] == "EXPIRED"


async def test_cancelling_a_closed_order_is_refused(stack: Stack) -> None:
    _, order = await _order(stack)
    assert (await stack.decide(order["id"], "decline")).status_code == 200
    await stack.wait_for_status(order["id"], "declined")

    response = await _cancel(stack, order["id"], stack.admin)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_closed"


async def test_reschedule_moves_the_same_event_and_keeps_both_times(stack: Stack) -> None:
    mentor, order = await _confirmed(stack)
    old_start = datetime.fromisoformat(order["start_time"])
    new_start = old_start + timedelta(days=1, hours=2)

    response = await _reschedule(stack, order["id"], new_start)
    assert response.status_code == 200, response.text

    async def moved() -> dict[str, Any] | None:
        current = await stack.get_order(order["id"])
        return current if "rescheduled" in _events(current) else None

    current = await wait_until(moved, "the order to be rescheduled")
    assert current["status"] == "confirmed"
    assert datetime.fromisoformat(current["start_time"]) == new_start
    [entry] = [e for e in current["timeline"] if e["event"] == "rescheduled"]
    assert datetime.fromisoformat(entry["data"]["old_start_time"]) == old_start
    assert datetime.fromisoformat(entry["data"]["new_start_time"]) == new_start

    async def event_moved() -> dict[str, Any] | None:
        [event] = await stack.events_for(calendar_event_id_for(order["id"]))
        moved_to = datetime.fromisoformat(event["start"]["dateTime"])
        return event if moved_to == new_start else None

    event = await wait_until(event_moved, "the calendar event to move")
    assert event["status"] != "cancelled"
    await stack.wait_for_template(order["mentee"]["email"], "rescheduled")
    await stack.wait_for_template(mentor["email"], "rescheduled")
    freed = await stack.create_order(mentor["id"], start_time=old_start)
    assert freed.status_code == 201, "the old time is free again"


async def test_reschedule_into_a_taken_slot_is_refused(stack: Stack) -> None:
    mentor, order = await _confirmed(stack)
    taken = datetime.fromisoformat(order["start_time"]) + timedelta(days=1)
    other = await stack.create_order(mentor["id"], start_time=taken)
    assert other.status_code == 201

    response = await _reschedule(stack, order["id"], taken + timedelta(minutes=30))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_unavailable"
    current = await stack.get_order(order["id"])
    assert current["start_time"] == order["start_time"]


async def test_reschedule_after_cutoff_is_refused(stack: Stack) -> None:
    _, order = await _confirmed(stack)
    await _past_cancellation_cutoff(stack, order)

    response = await _reschedule(
        stack, order["id"], datetime.fromisoformat(order["start_time"]) + timedelta(days=2)
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "reschedule_window_closed"
