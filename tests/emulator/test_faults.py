"""Injected provider outages, seen through the real clients, and the call counters."""

import base64
import time
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import xendit
from googleapiclient.errors import HttpError
from xendit.invoice import InvoiceApi
from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest

from emulator.faults import OPERATIONS


def _fault(sandbox: httpx.Client, **spec: Any) -> None:
    response = sandbox.post("/sandbox/faults", json=spec)
    assert response.status_code == 201, response.text


def _create(invoices: InvoiceApi) -> Any:
    return invoices.create_invoice(
        create_invoice_request=CreateInvoiceRequest(external_id="order-fault", amount=50_000.0)
    )


def test_xendit_fault_fails_the_next_call_then_it_succeeds(
    invoices: InvoiceApi, sandbox: httpx.Client
) -> None:
    _fault(sandbox, operation="xendit.invoices.create", status=503)

    with pytest.raises(xendit.XenditSdkException) as caught:
        _create(invoices)
    invoice = _create(invoices)

    assert caught.value.status == "503" and caught.value.errorCode == "SERVER_ERROR"
    assert str(invoice.status) == "PENDING"
    assert sandbox.get("/sandbox/calls").json()["xendit.invoices.create"] == 2
    assert [i["id"] for i in sandbox.get("/sandbox/invoices").json()] == [invoice.id]


def test_fault_times_and_other_operations(invoices: InvoiceApi, sandbox: httpx.Client) -> None:
    invoice = _create(invoices)
    _fault(sandbox, operation="xendit.invoices.get", status=500, times=2)

    failures = 0
    for _ in range(2):
        with pytest.raises(xendit.XenditSdkException):
            invoices.get_invoice_by_id(invoice_id=invoice.id)
        failures += 1
    fetched = invoices.get_invoice_by_id(invoice_id=invoice.id)
    listed = invoices.get_invoices(external_id="order-fault")

    assert failures == 2 and fetched.id == invoice.id and len(listed) == 1
    calls = sandbox.get("/sandbox/calls").json()
    assert calls["xendit.invoices.get"] == 3 and calls["xendit.invoices.list"] == 1
    assert sandbox.get("/sandbox/faults").json() == []


def test_calendar_fault_is_google_error_then_insert_succeeds(
    calendar: Any, sandbox: httpx.Client
) -> None:
    _fault(sandbox, operation="calendar.events.insert", status=503)
    body = {
        "id": "fault0event",
        "start": {"dateTime": "2030-01-01T10:00:00Z"},
        "end": {"dateTime": "2030-01-01T11:00:00Z"},
    }

    with pytest.raises(HttpError) as caught:
        calendar.events().insert(calendarId="primary", body=body).execute()
    event = calendar.events().insert(calendarId="primary", body=body).execute()

    assert caught.value.resp.status == 503
    assert caught.value.error_details[0]["reason"] == "backendError"
    assert event["id"] == "fault0event"
    assert sandbox.get("/sandbox/calls").json()["calendar.events.insert"] == 2


def test_gmail_fault(gmail: Any, sandbox: httpx.Client) -> None:
    _fault(sandbox, operation="gmail.messages.send", status=429)
    message = EmailMessage()
    message["To"] = "budi@example.com"
    message.set_content("hello")
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()

    with pytest.raises(HttpError) as caught:
        gmail.users().messages().send(userId="me", body={"raw": raw}).execute()
    gmail.users().messages().send(userId="me", body={"raw": raw}).execute()

    assert caught.value.resp.status == 429
    assert len(sandbox.get("/sandbox/mail").json()) == 1


def test_after_effect_fault_does_the_operation_then_fails_its_answer(
    gmail: Any, invoices: InvoiceApi, sandbox: httpx.Client
) -> None:
    _fault(sandbox, operation="gmail.messages.send", status=503, after_effect=True)
    _fault(sandbox, operation="xendit.invoices.create", status=500, after_effect=True)
    message = EmailMessage()
    message["To"] = "budi@example.com"
    message.set_content("hello")
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()

    with pytest.raises(HttpError) as mail_failed:
        gmail.users().messages().send(userId="me", body={"raw": raw}).execute()
    with pytest.raises(xendit.XenditSdkException) as invoice_failed:
        _create(invoices)

    assert mail_failed.value.resp.status == 503
    assert invoice_failed.value.status == "500"
    assert len(sandbox.get("/sandbox/mail").json()) == 1
    assert len(sandbox.get("/sandbox/invoices").json()) == 1


def test_after_effect_delay_answers_late(invoices: InvoiceApi, sandbox: httpx.Client) -> None:
    _fault(sandbox, operation="xendit.invoices.create", delay_seconds=0.3, after_effect=True)

    began = time.monotonic()
    invoice = _create(invoices)

    assert time.monotonic() - began >= 0.3
    assert [i["id"] for i in sandbox.get("/sandbox/invoices").json()] == [invoice.id]


def test_delay_only_fault_slows_the_call_down(invoices: InvoiceApi, sandbox: httpx.Client) -> None:
    _fault(sandbox, operation="xendit.invoices.create", delay_seconds=0.3)

    began = time.monotonic()
    invoice = _create(invoices)
    slow = time.monotonic() - began

    assert str(invoice.status) == "PENDING" and slow >= 0.3


def test_delete_clears_pending_faults(invoices: InvoiceApi, sandbox: httpx.Client) -> None:
    _fault(sandbox, operation="xendit.invoices.create", status=500, times=5)
    assert len(sandbox.get("/sandbox/faults").json()) == 1

    assert sandbox.delete("/sandbox/faults").status_code == 204

    assert sandbox.get("/sandbox/faults").json() == []
    assert str(_create(invoices).status) == "PENDING"


@pytest.mark.parametrize(
    "spec",
    [
        {"operation": "xendit.invoices.delete", "status": 503},
        {"operation": "xendit.invoices.create"},
        {"operation": "xendit.invoices.create", "status": 200},
        {"operation": "xendit.invoices.create", "status": 503, "times": 0},
        {"operation": "xendit.invoices.get", "status": 503, "after_effect": True},
    ],
)
def test_bad_fault_specs_are_422(sandbox: httpx.Client, spec: dict[str, Any]) -> None:
    assert sandbox.post("/sandbox/faults", json=spec).status_code == 422


def test_calls_lists_every_operation(sandbox: httpx.Client) -> None:
    assert sandbox.get("/sandbox/calls").json() == dict.fromkeys(OPERATIONS, 0)
