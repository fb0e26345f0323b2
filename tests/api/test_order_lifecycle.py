"""An order end to end through HTTP: API -> workflow -> emulated Xendit and Google -> API."""

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from api.callback_store import COPY_NOTE
from mentoring.domain import calendar_event_id_for, workflow_id_for
from mentoring.tables import WebhookEvent
from tests.support import Stack, html_links, paid_callback, wait_until


async def test_created_order_has_its_invoice_and_price(stack: Stack) -> None:
    mentor, order = await stack.new_order()

    assert order["status"] == "awaiting_payment"
    assert order["amount"] == 300_000
    assert order["currency"] == "IDR"
    assert order["payment"]["invoice_url"].startswith(str(stack.sandbox.base_url))
    invoice = (await stack.sandbox.get("/sandbox/invoices")).json()
    mine = [i for i in invoice if i["external_id"] == order["id"]]
    assert len(mine) == 1 and mine[0]["amount"] == 300_000
    assert [e["event"] for e in order["timeline"]] == ["created", "invoice_issued"]

    mentee_mail = await stack.wait_for_mail(order["mentee"]["email"])
    assert order["payment"]["invoice_url"] in mentee_mail[0]["body"]
    assert await stack.mail_to(mentor["email"]) == [], "the mentor is asked once it is paid"


async def test_pay_then_approve_books_the_session(stack: Stack) -> None:
    mentor, order = await stack.new_order()

    await stack.pay(order["payment"]["invoice_id"], payment_method="EWALLET", payment_channel="OVO")
    paid = await stack.wait_for_status(order["id"], "awaiting_mentor")
    assert paid["payment"]["status"] == "paid"
    assert paid["payment"]["paid_amount"] == 300_000
    assert paid["mentor_decision"]["deadline"] is not None

    decided = await stack.decide(order["id"], "approve")
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] in ("scheduling", "confirmed")

    confirmed = await stack.wait_for_status(order["id"], "confirmed")
    assert confirmed["session"]["meet_url"].startswith("https://meet.google.com/")
    event_id = calendar_event_id_for(order["id"])
    assert confirmed["session"]["calendar_event_id"] == event_id
    events = await stack.events_for(event_id)
    assert len(events) == 1
    attendees = {a["email"] for a in events[0]["attendees"]}
    assert attendees == {mentor["email"], order["mentee"]["email"]}
    await stack.wait_for_template(mentor["email"], "confirmed")
    await stack.wait_for_template(order["mentee"]["email"], "confirmed")
    # Google's event invites both (sendUpdates): no .ics of our own beside it.
    mentee_mail = await stack.mail_to(order["mentee"]["email"])
    mail = mentee_mail + await stack.mail_to(mentor["email"])
    assert all(m["attachments"] == [] and m["body"] and m["html"] for m in mail)
    # Every mentee email leads to the order page.
    order_page = f"{stack.settings.public_base_url}/pages/order/"
    for m in mentee_mail:
        assert order_page in m["body"], m["subject"]
        assert [url for url in html_links(m["html"]) if url.startswith(order_page)], m["subject"]


async def test_approve_then_pay_books_the_session(stack: Stack) -> None:
    _, order = await stack.new_order()

    decided = await stack.decide(order["id"], "approve")
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "awaiting_payment"
    assert decided.json()["mentor_decision"]["decision"] == "approve"
    assert await stack.events_for(calendar_event_id_for(order["id"])) == []

    await stack.pay(order["payment"]["invoice_id"])
    confirmed = await stack.wait_for_status(order["id"], "confirmed")
    assert confirmed["session"]["meet_url"]
    statuses = [e["to_status"] for e in confirmed["timeline"]]
    assert statuses[-2:] == ["scheduling", "confirmed"]


async def test_invoice_expiry_callback_expires_the_order_and_frees_the_slot(stack: Stack) -> None:
    mentor, order = await stack.new_order()

    response = await stack.sandbox.post(
        f"/sandbox/invoices/{order['payment']['invoice_id']}/expire"
    )
    assert response.status_code == 200, response.text
    expired = await stack.wait_for_status(order["id"], "expired")
    assert expired["payment"]["status"] == "expired"
    await stack.wait_for_mail(order["mentee"]["email"], ("expire", "kedaluwarsa"))

    again = await stack.create_order(mentor["id"])
    assert again.status_code == 201, again.text


async def test_payment_deadline_expires_the_order(stack: Stack) -> None:
    _, order = await stack.new_order()
    handle = stack.client.get_workflow_handle(workflow_id_for(order["id"]))

    await stack.skipper.fast_forward(handle, timedelta(minutes=61))

    expired = await stack.wait_for_status(order["id"], "expired")
    assert expired["status_reason"] == "payment_deadline_passed"
    invoices = (await stack.sandbox.get("/sandbox/invoices")).json()
    assert [i["status"] for i in invoices if i["external_id"] == order["id"]] == ["EXPIRED"]


async def test_forged_webhook_is_refused_and_changes_nothing(stack: Stack) -> None:
    _, order = await stack.new_order()
    payload = paid_callback(order)

    for headers in ({}, {"x-callback-token": "forged"}):
        response = await stack.api.post(
            "/v1/webhooks/xendit/invoice", json=payload, headers=headers
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_callback_token"

    after = await stack.get_order(order["id"])
    assert after["status"] == "awaiting_payment"
    assert after["payment"]["status"] == "pending"
    assert [e["event"] for e in after["timeline"]] == ["created", "invoice_issued"]


async def test_same_paid_callback_three_times_has_one_effect(stack: Stack) -> None:
    mentor, order = await stack.new_order()
    invoice_id = order["payment"]["invoice_id"]
    await stack.decide(order["id"], "approve")

    first = await stack.pay(invoice_id)
    assert first["callback"]["status_code"] == 200
    for _ in range(2):
        again = await stack.sandbox.post(f"/sandbox/invoices/{invoice_id}/callback")
        assert again.status_code == 200 and again.json()["callback"]["status_code"] == 200

    confirmed = await stack.wait_for_status(order["id"], "confirmed")

    async def duplicates_recorded() -> dict[str, Any] | None:
        """Each copy is stored; one that came after the first was forwarded is stored with a
        note and not told to the workflow again, one that came before is in the timeline."""
        current = await stack.get_order(order["id"])
        seen = [e for e in current["timeline"] if e["event"] == "payment_duplicate"]
        async with stack.engine.connect() as connection:
            notes = list(
                await connection.scalars(
                    select(WebhookEvent.forward_error).where(WebhookEvent.invoice_id == invoice_id)
                )
            )
        copies = notes.count(COPY_NOTE)
        return current if len(notes) == 3 and len(seen) + copies == 2 else None

    final = await wait_until(duplicates_recorded, "the duplicate callbacks to be recorded")
    assert [e["event"] for e in final["timeline"]].count("payment_received") == 1
    assert len(await stack.events_for(confirmed["session"]["calendar_event_id"])) == 1
    await stack.wait_for_template(order["mentee"]["email"], "confirmed")
    await stack.wait_for_template(mentor["email"], "confirmed")
    subjects = [m["subject"] for m in await stack.mail_to(order["mentee"]["email"])]
    assert len(subjects) == len(set(subjects)), subjects
    mentor_subjects = [m["subject"] for m in await stack.mail_to(mentor["email"])]
    assert len(mentor_subjects) == len(set(mentor_subjects)), mentor_subjects
