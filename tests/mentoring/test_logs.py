"""Log lines: one JSON object a line with the order, workflow and trace ids when known, and no
secret in them (mentoring/logs.py). The same through a real order: tests/api/test_logs.py."""

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider

from mentoring.logs import SecretMasker, configure_logging
from mentoring.settings import Settings

ORDER_ID = "0b7e7c1e-5d4f-4a39-8f7c-0e4d8b8f2a61"
SETTINGS = Settings(
    _env_file=None,
    log_format="json",
    admin_api_key="admin-key-of-this-test",
    frontend_api_key="frontend-key-of-this-test",
    xendit_callback_token="callback-token-of-this-test",
)


@contextmanager
def captured(settings: Settings = SETTINGS) -> Iterator[io.StringIO]:
    """Every line logged meanwhile, as configure_logging writes it."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging(settings, stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        structlog.contextvars.clear_contextvars()


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_secrets_are_masked_and_ids_kept() -> None:
    mask = SecretMasker(["admin-key-of-this-test"]).mask
    assert mask("to budi.santoso@example.com") == "to b***@example.com"
    assert mask("q=budi%40example.co.id") == "q=b***@example.co.id"
    assert mask("Authorization: Bearer abc.DEF-123") == "Authorization: Bearer ***"
    assert mask("basic eG5kXzEyMzo=") == "basic ***"
    assert mask("key xnd_development_Abc123") == "key xnd_***"
    token = "eyJvIjoiMGI3ZSJ9.Zx8kQw.abcDEF_123-xyz"
    assert (
        mask(f'"GET /pages/decide/{token} HTTP/1.1" 200') == '"GET /pages/decide/*** HTTP/1.1" 200'
    )
    assert mask(f"/pages/order/{token}/cancel") == "/pages/order/***/cancel"
    assert (
        mask(f"/v1/orders/{ORDER_ID}?token={token}&x=1") == f"/v1/orders/{ORDER_ID}?token=***&x=1"
    )
    assert mask(f"link {token}") == "link ***"
    assert mask("x-callback-token: sekrit-value") == "x-callback-token: ***"
    assert mask("ya29.a0AfH6SMB") == "ya29.***"
    assert "admin-key-of-this-test" not in mask("key=admin-key-of-this-test")
    assert mask(f"order {ORDER_ID} workflow order-{ORDER_ID}") == (
        f"order {ORDER_ID} workflow order-{ORDER_ID}"
    )


_FRAGMENTS = [
    "admin-key-of-this-test",
    "budi.santoso@example.com",
    "q=budi%40example.co.id",
    "Bearer abc.DEF-123",
    "basic eG5kXzEyMzo=",
    "xnd_development_Abc123",
    "/pages/decide/",
    "/pages/order/",
    "eyJvIjoiMGI3ZSJ9.Zx8kQw.abcDEF_123-xyz",
    "?token=",
    "&signature=",
    "ya29.a0AfH6",
    "x-callback-token: ",
    '"X-Callback-Token": "',
    "-----BEGIN PRIVATE KEY-----\nMIIE\n",
    "-----END PRIVATE KEY-----",
    '127.0.0.1:47230 - "POST /v1/webhooks/xendit/invoice HTTP/1.1" 200',
    ORDER_ID,
    "@",
    ".",
    " ",
    "\n",
]


@given(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=8), max_size=8).map("".join))
def test_the_quick_look_masks_what_every_pattern_would(text: str) -> None:
    masker = SecretMasker(["admin-key-of-this-test"])
    assert masker.mask(text) == masker.mask_each(text)


def test_our_own_fields_are_left_as_they_are() -> None:
    masker = SecretMasker()
    line = {"event": "to budi@example.com", "logger": "uvicorn.access", "order_id": ORDER_ID}
    assert masker(None, "info", line) == {**line, "event": "to b***@example.com"}


def test_a_stdlib_line_is_one_json_object_with_its_context_and_no_secret() -> None:
    with captured() as stream:
        structlog.contextvars.bind_contextvars(order_id=ORDER_ID)
        logging.getLogger("api.test").warning(
            "could not email %s with %s",
            "budi@example.com",
            "Bearer frontend-key-of-this-test",
            extra={"authorization": "Bearer frontend-key-of-this-test", "attempt": 2},
        )
    [line] = _lines(stream)
    assert line["event"] == "could not email b***@example.com with Bearer ***"
    assert line["level"] == "warning" and line["logger"] == "api.test"
    assert line["order_id"] == ORDER_ID and line["attempt"] == 2
    assert line["authorization"] == "***"
    assert line["timestamp"].endswith("Z")
    assert "frontend-key-of-this-test" not in stream.getvalue()


def test_uvicorn_access_lines_are_masked() -> None:
    with captured() as stream:
        logging.getLogger("uvicorn.access").warning(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/pages/decide/eyJvIjoiMGI3ZSJ9.Zx8kQw.abcDEF?token=eyJvIjoiMGI3ZSJ9.Zx8kQw.abc",
            "1.1",
            200,
        )
    [line] = _lines(stream)
    assert line["event"] == '127.0.0.1:5000 - "GET /pages/decide/***?token=*** HTTP/1.1" 200'


def test_lines_carry_the_trace_and_the_workflow() -> None:
    tracer = TracerProvider().get_tracer("test")
    with captured() as stream, tracer.start_as_current_span("request") as span:
        structlog.get_logger("worker.test").info("order transition", to_status="confirmed")
        logging.getLogger("temporalio.workflow").info(
            "waiting", extra={"temporal_workflow": {"workflow_id": f"order-{ORDER_ID}"}}
        )
    native, workflow = _lines(stream)
    context = span.get_span_context()
    for line in (native, workflow):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
    assert native["event"] == "order transition" and native["to_status"] == "confirmed"
    assert workflow["workflow_id"] == f"order-{ORDER_ID}" and workflow["order_id"] == ORDER_ID
    assert "temporal_workflow" not in workflow


def test_console_format_for_a_person() -> None:
    settings = SETTINGS.model_copy(update={"log_format": "console"})
    with captured(settings) as stream:
        logging.getLogger("api.test").info("hello %s", "budi@example.com")
    text = stream.getvalue()
    assert "hello b***@example.com" in text and not text.startswith("{")


def test_auto_is_json_off_a_terminal() -> None:
    with captured(SETTINGS.model_copy(update={"log_format": "auto"})) as stream:
        logging.getLogger("api.test").info("hello")
    assert _lines(stream)[0]["event"] == "hello"
