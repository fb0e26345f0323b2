"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis 4).

Every operation of `/openapi.json` is called with generated requests, both valid (positive) and
invalid (negative) ones, as the admin and as the frontend (the webhook with and without Xendit's
callback token), against the live stack: real Postgres, real Temporal workflows. Path parameters
and bodies sometimes name the mentor and orders seeded first, so the calls reach real resources
instead of 404s. Each response must pass schemathesis's checks (no 5xx, documented status codes,
content types, headers and schemas, invalid data rejected, valid data accepted but for the
contract's business-rule 422s, auth enforced, ...), every error must have the contract's shape
`{"error": {"code": "<snake_case>", "message": "..."}}`, and no activity of the orders the
fuzzing created may fail on their data (only deliberate refusals such as SlotUnavailable).

Schemathesis and Hypothesis are synchronous, and the API is served by this test's own event
loop: the fuzzing runs in a worker thread, over `requests`, against the API's real base URL.
Hypothesis is seeded per operation and variant (no example database, no shrinking), so runs are
reproducible; FUZZ_EXAMPLES sets the examples per variant (4 variants per operation: two
callers, positive and negative data), FUZZ_SEED another seed to explore with.
"""

import asyncio
import logging
import os
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, CheckContext, GenerationMode, Response
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import text
from temporalio.exceptions import ApplicationError

from tests.support import Stack, session_start, wait_until

Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Operation]

EXAMPLES_PER_VARIANT = int(os.environ.get("FUZZ_EXAMPLES", "50"))
SEED = int(os.environ.get("FUZZ_SEED", "20240611"))
REQUEST_TIMEOUT_S = 30.0

_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def error_shape(ctx: CheckContext, response: Response, case: AnyCase) -> bool | None:
    """Every error: {"error": {"code": "<snake_case>", "message": "...", "details"?: ...}}."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError as not_json:
        raise AssertionError(f"a {response.status_code} whose body is not JSON") from not_json
    assert isinstance(body, dict) and set(body) == {"error"}, f"not an error body: {body!r}"
    error = body["error"]
    assert isinstance(error, dict), f"not an error object: {error!r}"
    assert set(error) <= {"code", "message", "details"}, f"unexpected keys in {error!r}"
    code, message = error.get("code"), error.get("message")
    assert isinstance(code, str) and _SNAKE_CASE.match(code), f"code not snake_case: {code!r}"
    assert isinstance(message, str) and message, f"no message: {error!r}"
    return None


# 422s for rules a schema cannot state: the contract's own codes, not `validation_error`.
BUSINESS_RULE_CODES = frozenset(
    {
        "unknown_mentor",
        "invalid_duration",
        "start_in_past",
        "start_too_soon",
        "invalid_availability",
        "invalid_window",
        "window_too_long",
    }
)


def _error_code(response: Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


# `format: email` is syntax; the server also refuses addresses no mail can reach (`x@y.test`).
_UNREACHABLE_EMAIL = "value is not a valid email address: The part after the @-sign is a special"


def _refused_only_unreachable_emails(response: Response) -> bool:
    if _error_code(response) != "validation_error":
        return False
    details = response.json()["error"].get("details")
    return (
        isinstance(details, list)
        and bool(details)
        and all(str(detail.get("msg", "")).startswith(_UNREACHABLE_EMAIL) for detail in details)
    )


def schema_valid_data_accepted(ctx: CheckContext, response: Response, case: AnyCase) -> bool | None:
    """schemathesis's positive_data_acceptance, but a schema-valid request may still be refused
    with 422 for a business rule (a start in the past, an unknown mentor, an email address on a
    special-use domain such as .test)."""
    if response.status_code == 422 and (
        _error_code(response) in BUSINESS_RULE_CODES or _refused_only_unreachable_emails(response)
    ):
        return None
    return positive_data_acceptance(ctx, response, case)


@dataclass(frozen=True)
class Seeded:
    """The real resources the generated requests sometimes name."""

    mentor_id: str
    order_ids: tuple[str, ...]
    invoice_ids: tuple[str, ...]
    durations: tuple[int, ...]


@dataclass(frozen=True)
class Variant:
    name: str
    auth: dict[str, str]  # sent with every request, known to schemathesis as explicit auth
    fixed: dict[str, str]  # header parameters held fixed instead of generated
    mode: GenerationMode


def variants_for(operation: Operation, stack: Stack) -> list[Variant]:
    callers: dict[str, tuple[dict[str, str], dict[str, str]]]
    if operation.path.startswith("/v1/webhooks/"):
        token = {"x-callback-token": stack.settings.xendit_callback_token}
        callers = {"with callback token": ({}, token), "without callback token": ({}, {})}
    else:
        callers = {"admin": (stack.admin, {}), "frontend": (stack.frontend, {})}
    return [
        Variant(f"{caller} {mode.value}", auth, fixed, mode)
        for caller, (auth, fixed) in callers.items()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]


def _with_real_ids(case: AnyCase, seeded: Seeded, pick: int) -> None:
    """Point a valid body at real resources (an unknown mentor is only ever a 422)."""
    if not isinstance(case.body, dict):
        return
    path = case.operation.path
    if path == "/v1/orders" and case.operation.method.upper() == "POST":
        case.body["mentor_id"] = seeded.mentor_id
        case.body["duration_minutes"] = seeded.durations[pick % len(seeded.durations)]
    elif path == "/v1/webhooks/xendit/refund":
        index = pick % len(seeded.order_ids)
        refund = case.body.get("data")
        if isinstance(refund, dict):
            refund["reference_id"] = f"refund-{seeded.order_ids[index]}"
    elif path.startswith("/v1/webhooks/"):
        index = pick % len(seeded.order_ids)
        case.body["external_id"] = seeded.order_ids[index]
        case.body["id"] = seeded.invoice_ids[index]


def fuzz_variant(
    operation: Operation, variant: Variant, seeded: Seeded, base_url: str, statuses: Counter[int]
) -> list[str]:
    """Run one operation's variant, counting the statuses; the failures, as readable reports."""
    fixed = variant.fixed or None
    strategies = [operation.as_strategy(variant.mode, headers=fixed)]
    if "{order_id}" in operation.path:
        strategies += [
            operation.as_strategy(
                variant.mode, headers=fixed, path_parameters={"order_id": order_id}
            )
            for order_id in seeded.order_ids
        ]
    if "{mentor_id}" in operation.path:
        strategies.append(
            operation.as_strategy(
                variant.mode,
                headers=fixed,
                path_parameters={"mentor_id": seeded.mentor_id},
            )
        )
    session = requests.Session()
    failures: dict[str, None] = {}  # each distinct failure once, in order

    @seed(zlib.crc32(f"{SEED}:{operation.label}:{variant.name}".encode()))
    @settings(
        max_examples=EXAMPLES_PER_VARIANT,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=True,
    )
    @given(case=st.one_of(strategies), real=st.integers(min_value=-1, max_value=5))
    def run(case: AnyCase, real: int) -> None:
        if variant.mode is GenerationMode.POSITIVE and real >= 0:
            _with_real_ids(case, seeded, real)
        try:
            response = case.call(
                base_url=base_url,
                session=session,
                headers=variant.auth or None,
                timeout=REQUEST_TIMEOUT_S,
            )
            statuses[response.status_code] += 1
            case.validate_response(
                response,
                additional_checks=[error_shape, schema_valid_data_accepted],
                excluded_checks=[positive_data_acceptance],
                headers=variant.auth or None,
                transport_kwargs={
                    "base_url": base_url,
                    "session": session,
                    "headers": variant.auth,
                    "timeout": REQUEST_TIMEOUT_S,
                },
            )
        except BaseException as error:
            failures.setdefault(f"{operation.label} [{variant.name}]:\n{error}")
            raise

    try:
        run()
    except Unsatisfiable:
        # Nothing of this operation can be made invalid (no parameters, no body).
        if variant.mode is not GenerationMode.NEGATIVE:
            failures.setdefault(f"{operation.label} [{variant.name}]: no example generated")
    except BaseException as error:
        if not failures:
            failures.setdefault(f"{operation.label} [{variant.name}]: {error!r}")
    finally:
        session.close()
    return list(failures)


def fuzz_all(
    operations: list[Operation],
    stack: Stack,
    seeded: Seeded,
    base_url: str,
    report: Callable[[str], None],
) -> list[str]:
    failures: list[str] = []
    for operation in operations:
        for variant in variants_for(operation, stack):
            started, statuses = time.monotonic(), Counter[int]()
            found = fuzz_variant(operation, variant, seeded, base_url, statuses)
            report(
                f"{operation.label} [{variant.name}]: {time.monotonic() - started:.1f}s, "
                f"statuses {dict(sorted(statuses.items()))}, {len(found)} failure(s)"
            )
            failures += found
    return failures


async def _seed(stack: Stack) -> Seeded:
    mentor = await stack.create_mentor(hourly_rate=250_000)
    pending = await stack.create_order(mentor["id"], start_time=session_start(days_ahead=6))
    assert pending.status_code == 201, pending.text
    booked = await stack.create_order(mentor["id"], start_time=session_start(days_ahead=8))
    assert booked.status_code == 201, booked.text
    orders = [pending.json(), booked.json()]
    await stack.pay(orders[1]["payment"]["invoice_id"])
    await stack.wait_for_status(orders[1]["id"], "awaiting_mentor")
    decided = await stack.decide(orders[1]["id"], "approve")
    assert decided.status_code == 200, decided.text
    await stack.wait_for_status(orders[1]["id"], "confirmed")
    return Seeded(
        mentor_id=mentor["id"],
        order_ids=tuple(order["id"] for order in orders),
        invoice_ids=tuple(order["payment"]["invoice_id"] for order in orders),
        durations=tuple(stack.settings.allowed_durations_minutes),
    )


async def _remove_webhook_endpoints(stack: Stack) -> None:
    """The endpoints the fuzzing registered (at made-up hosts) go: their deliveries end at their
    next attempt instead of retrying beside the tests that follow."""
    async with stack.engine.begin() as connection:
        await connection.execute(text("DELETE FROM webhook_endpoints"))


async def _first_activities_done(stack: Stack) -> bool:
    """Every order has its invoice (or ended without one) and no email is still being sent."""
    async with stack.engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT (SELECT count(*) FROM orders WHERE status = 'awaiting_payment'"
                " AND invoice_url IS NULL)"
                " + (SELECT count(*) FROM sent_emails WHERE status <> 'sent')"
            )
        )
    return bool(waiting == 0)


def _broken_activities(records: list[logging.LogRecord]) -> list[str]:
    """Activities the fuzzed data broke: failed with anything but a deliberate ApplicationError
    (a refusal such as SlotUnavailable)."""
    errors = [(r, r.exc_info[1]) for r in records if r.name == "temporalio.activity" and r.exc_info]
    return [
        f"{record.getMessage()}: {error!r}"
        for record, error in errors
        if not isinstance(error, ApplicationError)
    ]


async def test_every_operation_survives_fuzzing_and_keeps_its_contract(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    response = await stack.api.get("/openapi.json")
    assert response.status_code == 200
    raw: dict[str, Any] = response.json()
    schema = schemathesis.openapi.from_dict(raw, config=schemathesis.Config(seed=SEED))
    # The keys are sent as explicit auth: generating (and negating) Authorization would only be
    # overridden by them; the `ignored_auth` check probes missing and invalid credentials.
    schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    labels = {operation.label for operation in operations}
    for expected in (
        "POST /v1/mentors",
        "GET /v1/mentors/{mentor_id}",
        "POST /v1/orders",
        "GET /v1/orders",
        "GET /v1/orders/{order_id}",
        "POST /v1/orders/{order_id}/decision",
        "POST /v1/orders/{order_id}/cancel",
        "POST /v1/orders/{order_id}/reschedule",
        "POST /v1/webhooks/xendit/invoice",
        "POST /v1/webhooks/xendit/refund",
        "GET /healthz",
        "GET /readyz",
    ):
        assert expected in labels, f"{expected} is not in the OpenAPI document"
    seeded = await _seed(stack)
    base_url = str(stack.api.base_url).rstrip("/")
    caplog.set_level(logging.WARNING, logger="temporalio.activity")
    try:
        failures = await asyncio.to_thread(fuzz_all, operations, stack, seeded, base_url, print)
    finally:
        await _remove_webhook_endpoints(stack)
    assert not failures, "\n\n".join(failures)
    await wait_until(lambda: _first_activities_done(stack), "the fuzzed orders' first activities")
    broken = _broken_activities(caplog.records)
    assert not broken, "\n".join(broken)
