"""The Xendit activities against the emulator: what the invoice carries (redirects, locale,
customer, the session as its item, payment methods), one invoice per order when attempts overlap,
the invoice read back, and which refusals end an activity instead of being retried."""

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import httpx
import pytest
import xendit
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.payments import (
    CreateInvoiceInput,
    ExpireInvoiceInput,
    GetInvoiceInput,
    InvoiceInfo,
    RefundInput,
    XenditActivities,
)
from mentoring.settings import Settings
from mentoring.tokens import MENTEE_LINK_TTL, ORDER_PAGE_PATH, check_link
from tests.activities.conftest import add_fault

AMOUNT = 300_000


def _order() -> CreateInvoiceInput:
    return CreateInvoiceInput(
        order_id=str(uuid.uuid4()),
        amount=AMOUNT,
        currency="IDR",
        payer_email="budi@example.com",
        description="Mentoring: Career switch with Ayu",
        duration_s=3600,
        customer_name="Budi",
    )


def _invoices_of(sandbox: httpx.Client, order_id: str) -> list[dict[str, object]]:
    return [i for i in sandbox.get("/sandbox/invoices").json() if i["external_id"] == order_id]


def _calls(sandbox: httpx.Client) -> dict[str, int]:
    calls: dict[str, int] = sandbox.get("/sandbox/calls").json()
    return calls


async def test_two_workers_creating_at_once_end_with_one_invoice(
    settings: Settings, sandbox: httpx.Client
) -> None:
    order = _order()
    # Both look-ups find nothing but answer late, so both attempts create (0.1 s apart:
    # invoices made in the same millisecond could not be told apart by creation time).
    add_fault(sandbox, operation="xendit.invoices.list", delay_seconds=0.5, after_effect=True)
    add_fault(sandbox, operation="xendit.invoices.list", delay_seconds=0.6, after_effect=True)
    workers = [XenditActivities(settings), XenditActivities(settings)]

    first, second = await asyncio.gather(
        *(ActivityEnvironment().run(worker.create_invoice, order) for worker in workers)
    )

    assert _calls(sandbox)["xendit.invoices.create"] == 2  # they did overlap
    assert first.invoice_id == second.invoice_id
    statuses = {str(i["id"]): i["status"] for i in _invoices_of(sandbox, order.order_id)}
    assert statuses.pop(first.invoice_id) == "PENDING"
    assert list(statuses.values()) == ["EXPIRED"]


async def test_overlapping_attempts_on_one_worker_create_once(
    settings: Settings, sandbox: httpx.Client
) -> None:
    order = _order()
    add_fault(sandbox, operation="xendit.invoices.list", delay_seconds=0.3, times=2)
    worker = XenditActivities(settings)

    results = await asyncio.gather(
        ActivityEnvironment().run(worker.create_invoice, order),
        ActivityEnvironment().run(worker.create_invoice, order),
    )

    assert results[0] == results[1]
    assert _calls(sandbox)["xendit.invoices.create"] == 1
    assert len(_invoices_of(sandbox, order.order_id)) == 1


async def test_create_that_timed_out_is_found_by_the_retry(
    env: ActivityEnvironment, settings: Settings, sandbox: httpx.Client
) -> None:
    order = _order()
    add_fault(sandbox, operation="xendit.invoices.create", status=504, after_effect=True)
    worker = XenditActivities(settings)

    with pytest.raises(xendit.XenditSdkException):
        await env.run(worker.create_invoice, order)
    retried = await env.run(worker.create_invoice, order)

    [invoice] = _invoices_of(sandbox, order.order_id)
    assert retried.invoice_id == invoice["id"] and retried.status == "PENDING"


async def _paid(
    env: ActivityEnvironment, worker: XenditActivities, sandbox: httpx.Client
) -> InvoiceInfo:
    created = await env.run(worker.create_invoice, _order())
    _pay(sandbox, created.invoice_id)
    return created


def _pay(sandbox: httpx.Client, invoice_id: str) -> None:
    paid = sandbox.post(
        f"/sandbox/invoices/{invoice_id}/pay",
        json={"payment_method": "EWALLET", "payment_channel": "OVO"},
    )
    assert paid.status_code == 200, paid.text


def _refunds(sandbox: httpx.Client) -> list[dict[str, object]]:
    refunds: list[dict[str, object]] = sandbox.get("/sandbox/refunds").json()
    return refunds


async def test_get_invoice_reads_status_amount_and_currency(
    env: ActivityEnvironment, settings: Settings, sandbox: httpx.Client
) -> None:
    worker = XenditActivities(settings)
    pending = await env.run(worker.create_invoice, _order())
    paid = await _paid(env, worker, sandbox)

    read_pending = await env.run(worker.get_invoice, GetInvoiceInput(pending.invoice_id))
    read_paid = await env.run(worker.get_invoice, GetInvoiceInput(paid.invoice_id))

    assert read_pending.status == "PENDING" and read_pending.paid_amount is None
    assert read_paid.status == "PAID"
    assert read_paid.paid_amount == AMOUNT and read_paid.paid_currency == "IDR"
    assert read_paid.payment_method == "EWALLET" and read_paid.paid_at is not None


async def test_get_unknown_invoice_is_invoice_not_found_and_not_retried(
    env: ActivityEnvironment, settings: Settings
) -> None:
    worker = XenditActivities(settings)

    with pytest.raises(ApplicationError) as caught:
        await env.run(worker.get_invoice, GetInvoiceInput("0123456789abcdef01234567"))

    assert caught.value.type == "InvoiceNotFound" and caught.value.non_retryable


async def test_get_invoice_during_an_outage_is_retried(
    env: ActivityEnvironment, settings: Settings, sandbox: httpx.Client
) -> None:
    worker = XenditActivities(settings)
    invoice = await env.run(worker.create_invoice, _order())
    add_fault(sandbox, operation="xendit.invoices.get", status=503)

    with pytest.raises(xendit.XenditSdkException):
        await env.run(worker.get_invoice, GetInvoiceInput(invoice.invoice_id))
    read = await env.run(worker.get_invoice, GetInvoiceInput(invoice.invoice_id))

    assert read.invoice_id == invoice.invoice_id


async def test_expire_pending_paid_and_unknown_invoices(
    env: ActivityEnvironment, settings: Settings, sandbox: httpx.Client
) -> None:
    worker = XenditActivities(settings)
    pending = await env.run(worker.create_invoice, _order())
    paid = await _paid(env, worker, sandbox)

    expired = await env.run(worker.expire_invoice, ExpireInvoiceInput(pending.invoice_id))
    payment_won = await env.run(worker.expire_invoice, ExpireInvoiceInput(paid.invoice_id))
    with pytest.raises(ApplicationError) as unknown:
        await env.run(worker.expire_invoice, ExpireInvoiceInput("0123456789abcdef01234567"))

    assert expired.status == "EXPIRED" and payment_won.status == "PAID"
    assert unknown.value.type == "InvoiceNotFound" and unknown.value.non_retryable


async def test_refund_refused_by_xendit_is_not_retried(
    env: ActivityEnvironment, settings: Settings
) -> None:
    worker = XenditActivities(settings)
    unpaid = await env.run(worker.create_invoice, _order())

    with pytest.raises(ApplicationError) as caught:
        await env.run(
            worker.refund_payment,
            RefundInput(
                order_id=str(uuid.uuid4()),
                invoice_id=unpaid.invoice_id,
                amount=AMOUNT,
                currency="IDR",
                payment_method="EWALLET",
                reason="declined",
            ),
        )

    assert caught.value.type == "XenditClientError" and caught.value.non_retryable


async def test_refund_during_an_outage_is_retried_then_refunds_once(
    env: ActivityEnvironment, settings: Settings, sandbox: httpx.Client
) -> None:
    worker = XenditActivities(settings)
    paid = await _paid(env, worker, sandbox)
    request = RefundInput(
        order_id=str(uuid.uuid4()),
        invoice_id=paid.invoice_id,
        amount=AMOUNT,
        currency="IDR",
        payment_method="EWALLET",
        reason="declined",
    )
    add_fault(sandbox, operation="xendit.refunds.create", status=503)

    with pytest.raises(xendit.XenditSdkException):
        await env.run(worker.refund_payment, request)
    first = await env.run(worker.refund_payment, request)
    again = await env.run(worker.refund_payment, request)

    assert first.status == "succeeded" and first.refund_id == again.refund_id
    assert len(_refunds(sandbox)) == 1


def _invoice_of(sandbox: httpx.Client, order_id: str) -> dict[str, Any]:
    [invoice] = _invoices_of(sandbox, order_id)
    return dict(invoice)


async def test_invoice_carries_redirects_locale_customer_item_and_payment_methods(
    env: ActivityEnvironment, settings: Settings, sandbox: httpx.Client
) -> None:
    configured = settings.model_copy(
        update={
            "frontend_order_url": "https://app.example.com/orders/{order_id}?tab=payment",
            "xendit_payment_methods": ["BCA", "OVO", "QRIS"],
        }
    )
    order = replace(
        _order(), locale="en", topic="Career switch", duration_minutes=90, customer_name="Anna"
    )

    created = await env.run(XenditActivities(configured).create_invoice, order)

    invoice = _invoice_of(sandbox, order.order_id)
    assert invoice["id"] == created.invoice_id
    page = f"https://app.example.com/orders/{order.order_id}"
    assert invoice["success_redirect_url"] == f"{page}?tab=payment&payment=success"
    assert invoice["failure_redirect_url"] == f"{page}?tab=payment&payment=failed"
    assert invoice["locale"] == "en"
    assert invoice["customer"] == {"given_names": "Anna", "email": "budi@example.com"}
    assert invoice["items"] == [
        {
            "name": "Mentoring session, 90 min: Career switch",
            "price": float(AMOUNT),
            "quantity": 1.0,
            "category": "Mentoring",
            "reference_id": order.order_id,
        }
    ]
    offered = [
        *(b["bank_code"] for b in invoice["available_banks"]),
        *(e["ewallet_type"] for e in invoice["available_ewallets"]),
        *(q["qr_code_type"] for q in invoice["available_qr_codes"]),
    ]
    assert sorted(offered) == ["BCA", "OVO", "QRIS"]
    assert invoice["available_retail_outlets"] == [] and invoice["should_exclude_credit_card"]


async def test_indonesian_invoice_returns_to_the_engines_own_order_page(
    env: ActivityEnvironment, settings: Settings, sandbox: httpx.Client
) -> None:
    """Without FRONTEND_ORDER_URL the payer comes back to the mentee order page (a signed link);
    without XENDIT_PAYMENT_METHODS every channel is offered."""
    order = replace(_order(), topic="Karier", duration_minutes=60)

    await env.run(XenditActivities(settings).create_invoice, order)

    invoice = _invoice_of(sandbox, order.order_id)
    assert invoice["locale"] == "id"
    assert invoice["items"][0]["name"] == "Sesi mentoring 60 menit: Karier"
    success = invoice["success_redirect_url"]
    assert success.startswith(f"{settings.public_base_url}{ORDER_PAGE_PATH}")
    assert success.endswith("?payment=success")
    token = success.removeprefix(f"{settings.public_base_url}{ORDER_PAGE_PATH}").split("?")[0]
    check = check_link(settings.mentor_token_secret, token, MENTEE_LINK_TTL, mentor=False)
    assert (check.verdict, check.order_id) == ("valid", order.order_id)
    assert invoice["failure_redirect_url"] == success.replace("success", "failed")
    assert len(invoice["available_banks"]) == 5 and not invoice["should_exclude_credit_card"]


async def test_paying_on_the_checkout_sends_the_payer_back(
    env: ActivityEnvironment, settings: Settings, sandbox: httpx.Client
) -> None:
    configured = settings.model_copy(
        update={"frontend_order_url": "https://app.example.com/orders/{order_id}"}
    )
    order = _order()
    created = await env.run(XenditActivities(configured).create_invoice, order)

    async with httpx.AsyncClient() as browser:
        page = await browser.get(created.invoice_url)
        paid = await browser.post(f"{created.invoice_url}/pay", data={"channel": "EWALLET:OVO"})

    assert 'id="pay"' in page.text and "Budi" in page.text
    assert paid.status_code == 303
    assert paid.headers["location"] == (
        f"https://app.example.com/orders/{order.order_id}?payment=success"
    )
