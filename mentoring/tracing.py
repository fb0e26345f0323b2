"""Tracing with OpenTelemetry: one trace from an API request through the order's workflow into
its activities, their Postgres queries and their calls to Xendit and Google.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then
no tracer provider, no instrumentation and no Temporal interceptor is installed, and the few
OpenTelemetry calls left in the code are the API's no-ops. On, spans go over OTLP/HTTP, as the
standard variables say (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`,
...). `configure_tracing` runs once per process, before the app, the engine or the Temporal
client are made.

What is traced: the API's requests (FastAPI), Temporal's client calls, workflows and activities
(temporalio's `TracingInterceptor`: the workflow's spans join the trace of the request that
started it, a later signal's or update's request is linked to it), the queries of asyncpg,
Xendit's HTTP calls (urllib3) and Google's (httplib2, `TracedHttp` here).

Every span of an order carries `mentoring.order_id`: the spans of its workflow and activities
from the workflow id `order-<id>` (or an activity's input that names the order), the spans
under them from their parent, an API request's from `tag_order`.
"""

import os
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httplib2
import structlog
from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput

from mentoring.domain import workflow_id_for

ORDER_ID = "mentoring.order_id"
_ORDER_WORKFLOW_PREFIX = workflow_id_for("")
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# Probes every few seconds would be most of the traces.
_DEFAULT_EXCLUDED_URLS = "healthz,readyz"

_provider: TracerProvider | None = None


def otlp_endpoint_set() -> bool:
    disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    return not disabled and any(os.environ.get(name) for name in _ENDPOINT_VARIABLES)


def configure_tracing(service_name: str, exporter: SpanExporter | None = None) -> bool:
    """Set up tracing for this process, once (later calls change nothing); whether it is on.

    `exporter` (tests): every span is handed to it as it ends. Without it: OTLP over HTTP when
    an endpoint is set, otherwise nothing at all."""
    global _provider
    if _provider is not None:
        return True
    if exporter is None and not otlp_endpoint_set():
        return False
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(OrderIdSpanProcessor())
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider

    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor

    # Statements without their parameters: no email address or token reaches a span.
    AsyncPGInstrumentor(capture_parameters=False).instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    URLLib3Instrumentor().instrument(tracer_provider=provider)
    return True


def tracing_enabled() -> bool:
    return _provider is not None


def instrument_fastapi(app: FastAPI) -> None:
    """The app's requests as server spans (nothing when tracing is off)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls=os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", _DEFAULT_EXCLUDED_URLS),
        exclude_spans=["receive", "send"],
    )


def temporal_interceptors() -> list[TracingInterceptor]:
    """For the Temporal client (the worker takes them from its client); none when off."""
    return [OrderTracingInterceptor()] if _provider is not None else []


def order_id_of_workflow(workflow_id: object) -> str | None:
    if isinstance(workflow_id, str) and workflow_id.startswith(_ORDER_WORKFLOW_PREFIX):
        return workflow_id.removeprefix(_ORDER_WORKFLOW_PREFIX)
    return None


def tag_order(order_id: str | uuid.UUID) -> None:
    """The current span (an API request's) and the log lines after this belong to the order."""
    trace.get_current_span().set_attribute(ORDER_ID, str(order_id))
    structlog.contextvars.bind_contextvars(order_id=str(order_id))


def current_trace_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the current span, if there is one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


class OrderIdSpanProcessor(SpanProcessor):
    """Sets `mentoring.order_id` on each span as it starts: from Temporal's workflow id
    attribute (`order-<id>`), else from its parent span in this process."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        attributes = span.attributes or {}
        if ORDER_ID in attributes:
            return
        order_id = order_id_of_workflow(attributes.get("temporalWorkflowID"))
        if order_id is None:
            parent = trace.get_current_span(parent_context)
            if isinstance(parent, ReadableSpan) and parent.attributes:
                inherited = parent.attributes.get(ORDER_ID)
                order_id = inherited if isinstance(inherited, str) else None
        if order_id is not None:
            span.set_attribute(ORDER_ID, order_id)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class OrderTracingInterceptor(TracingInterceptor):
    """temporalio's interceptor, and an activity's span tagged with the order its input names
    (a late payment's activities, whose workflow id names the invoice)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return super().intercept_activity(_ActivityOrderId(next))


def _order_id_in(args: Sequence[Any]) -> str | None:
    for arg in args:
        for holder in (arg, getattr(arg, "order", None)):
            order_id = getattr(holder, "order_id", None)
            if isinstance(order_id, str):
                return order_id
    return None


class _ActivityOrderId(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        order_id = _order_id_in(input.args)
        span = trace.get_current_span()
        if order_id is not None and ORDER_ID not in (getattr(span, "attributes", None) or {}):
            span.set_attribute(ORDER_ID, order_id)
        return await super().execute_activity(input)


_tracer = trace.get_tracer(__name__)


class TracedHttp(httplib2.Http):  # type: ignore[misc]
    """httplib2 (google-api-python-client's transport) with a client span per request: method,
    URL without its query, status. No-op spans when tracing is off."""

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(uri)
        attributes = {
            "http.request.method": method,
            "url.full": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            "server.address": parts.hostname or "",
        }
        with _tracer.start_as_current_span(method, kind=SpanKind.CLIENT, attributes=attributes):
            response, content = super().request(uri, method, *args, **kwargs)
            trace.get_current_span().set_attribute("http.response.status_code", response.status)
            return response, content
