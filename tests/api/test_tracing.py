"""One trace from `POST /v1/orders` through the order's workflow into every activity, their
queries and their calls to Xendit and Google, each span naming the order; the payment's and the
decision's requests are traces of their own, linked from the workflow's spans that took them.

Tracing is on for the whole test run (tests/conftest.py), its spans kept in memory (SPANS)."""

from opentelemetry.sdk.trace import ReadableSpan

from mentoring.tracing import ORDER_ID
from tests.support import SPANS, Stack, wait_until

EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}
# FastAPI's own telemetry in the emulator, which stands for Xendit's and Google's servers: their
# spans join the trace of a call made to them (urllib3 sends `traceparent`), and are not ours.
EMULATOR_SCOPE = "fastapi"


def _trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


def _of_order(order_id: str) -> list[ReadableSpan]:
    return [s for s in SPANS.get_finished_spans() if (s.attributes or {}).get(ORDER_ID) == order_id]


def _named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [span for span in spans if span.name == name]
    assert found, f"no span {name}"
    return found[0]


def _scope(span: ReadableSpan) -> str:
    return span.instrumentation_scope.name if span.instrumentation_scope else ""


async def test_one_trace_from_the_request_through_the_workflow_into_the_activities(
    stack: Stack,
) -> None:
    mentor, order = await stack.new_order()
    order_id = order["id"]
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order_id, "awaiting_mentor")
    assert (await stack.decide(order_id, "approve")).status_code == 200
    await stack.wait_for_status(order_id, "confirmed")

    async def booked() -> list[ReadableSpan] | None:
        spans = _of_order(order_id)
        return spans if any(s.name == "RunActivity:book_session" for s in spans) else None

    tagged = await wait_until(booked, "the booking's span")
    created = _named(tagged, "POST /v1/orders")
    trace_id = _trace_id(created)
    in_trace = [
        span
        for span in SPANS.get_finished_spans()
        if _trace_id(span) == trace_id and _scope(span) != EMULATOR_SCOPE
    ]
    # Every span of the order's trace names the order: none was left out.
    assert {(span.attributes or {}).get(ORDER_ID) for span in in_trace} == {order_id}
    names = {span.name for span in in_trace}
    assert {
        "POST /v1/orders",
        "StartUpdateWithStartWorkflow:MentoringOrderWorkflow",
        "RunWorkflow:MentoringOrderWorkflow",
        "HandleUpdate:invoice_ready",
        "HandleSignal:payment_received",
        "HandleUpdate:mentor_decision",
        "RunActivity:open_order",
        "RunActivity:record_transition",
        "RunActivity:send_emails",
        "RunActivity:get_invoice",
        "RunActivity:book_session",
    } <= names
    scopes = {_scope(span) for span in in_trace}
    assert {
        "opentelemetry.instrumentation.fastapi",  # the API's request
        "temporalio.contrib.opentelemetry._interceptor",  # the workflow and the activities
        "opentelemetry.instrumentation.asyncpg",  # their queries
        "opentelemetry.instrumentation.urllib3",  # Xendit
        "mentoring.tracing",  # Google (httplib2)
    } <= scopes
    # The queries of an activity are its children.
    recording = _named(in_trace, "RunActivity:open_order")
    assert recording.context is not None
    assert any(
        span.parent is not None
        and span.parent.span_id == recording.context.span_id
        and span.name == "INSERT"
        for span in in_trace
    )

    # The payment's callback and the mentor's decision came in requests of their own, which
    # name the order too and are linked from the workflow's spans that took them.
    for request, handler in (
        ("POST /v1/webhooks/xendit/invoice", "HandleSignal:payment_received"),
        ("POST /v1/orders/{order_id}/decision", "HandleUpdate:mentor_decision"),
    ):
        caller = _named(tagged, request)
        assert _trace_id(caller) != trace_id
        links = {link.context.trace_id for link in _named(in_trace, handler).links}
        assert _trace_id(caller) in links
    assert mentor["email"] not in str([dict(span.attributes or {}) for span in in_trace])
