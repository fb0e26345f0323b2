"""The order endpoints' contract: validation, idempotency, slots, who may call."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from mentoring.tokens import verify_mentor_token
from tests.support import Stack, html_links, order_body, session_start


async def test_idempotency_key_returns_the_same_order(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    body = order_body(mentor["id"])
    headers = {**stack.frontend, "Idempotency-Key": f"key-{uuid.uuid4()}"}

    first = await stack.api.post("/v1/orders", json=body, headers=headers)
    second = await stack.api.post("/v1/orders", json=body, headers=headers)
    other = await stack.api.post("/v1/orders", json={**body, "topic": "Other"}, headers=headers)

    assert first.status_code == 201, first.text
    assert second.status_code == 201 and second.json()["id"] == first.json()["id"]
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    invoices = (await stack.sandbox.get("/sandbox/invoices")).json()
    assert len([i for i in invoices if i["external_id"] == first.json()["id"]]) == 1


async def test_concurrent_requests_with_one_key_make_one_order(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    body = order_body(mentor["id"])
    headers = {**stack.frontend, "Idempotency-Key": f"key-{uuid.uuid4()}"}

    responses = await asyncio.gather(
        *(stack.api.post("/v1/orders", json=body, headers=headers) for _ in range(4))
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1


async def test_overlapping_slot_is_refused(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    start = session_start(days_ahead=6)
    first = await stack.create_order(mentor["id"], start_time=start)
    overlapping = await stack.create_order(mentor["id"], start_time=start + timedelta(minutes=30))
    adjacent = await stack.create_order(mentor["id"], start_time=start + timedelta(hours=1))

    assert first.status_code == 201, first.text
    assert overlapping.status_code == 409, overlapping.text
    assert overlapping.json()["error"]["code"] == "slot_unavailable"
    assert adjacent.status_code == 201, adjacent.text


async def test_concurrent_orders_for_one_slot_book_it_once(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    start = session_start(days_ahead=7)

    responses = await asyncio.gather(
        *(stack.create_order(mentor["id"], start_time=start) for _ in range(5))
    )

    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409, 409], [r.text for r in responses]


async def test_bad_orders_get_clear_errors(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    soon = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    cases = {
        "start_in_past": order_body(mentor["id"], start_time=past),
        "start_too_soon": order_body(mentor["id"], start_time=soon),
        "invalid_duration": order_body(mentor["id"], duration_minutes=7),
        "unknown_mentor": order_body(str(uuid.uuid4())),
        "validation_error": {**order_body(mentor["id"]), "amount": 1},
    }
    for code, body in cases.items():
        response = await stack.api.post("/v1/orders", json=body, headers=stack.frontend)
        assert response.status_code == 422, (code, response.text)
        assert response.json()["error"]["code"] == code

    naive = order_body(mentor["id"], start_time="2030-01-01T10:00:00")
    response = await stack.api.post("/v1/orders", json=naive, headers=stack.frontend)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"][-1] == "start_time"

    garbage = await stack.api.post(
        "/v1/orders",
        content=b"{not json",
        headers={**stack.frontend, "content-type": "application/json"},
    )
    assert garbage.status_code == 422
    assert garbage.json()["error"]["code"] == "validation_error"


async def test_callers_are_checked(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    body = order_body(mentor["id"])

    anonymous = await stack.api.post("/v1/orders", json=body)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    frontend_makes_mentor = await stack.api.post(
        "/v1/mentors",
        json={"name": "X", "email": "x@example.com", "hourly_rate": 1},
        headers=stack.frontend,
    )
    assert frontend_makes_mentor.status_code == 403

    created = (await stack.create_order(mentor["id"])).json()
    forged_token = await stack.api.get(f"/v1/orders/{created['id']}", params={"token": "nope"})
    assert forged_token.status_code == 401


async def test_mentor_decides_with_the_link_from_the_email(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    first = (await stack.create_order(mentor["id"], start_time=session_start(8))).json()
    second = (await stack.create_order(mentor["id"], start_time=session_start(9))).json()
    for order in (first, second):  # the mentor is asked once an order is paid
        await stack.pay(order["payment"]["invoice_id"])
    await stack.wait_for_template(mentor["email"], "mentor_request", count=2)
    # The email's one button opens the decision page; its token also works on the JSON route.
    decision_page = f"{stack.settings.public_base_url}/pages/decide/"
    links = [
        url
        for m in await stack.mail_to(mentor["email"])
        for url in html_links(m["html"])
        if url.startswith(decision_page)
    ]
    assert len(links) == 2, links  # one per request
    secret = stack.settings.mentor_token_secret
    [token] = [
        link.removeprefix(decision_page)
        for link in links
        if verify_mentor_token(secret, link.removeprefix(decision_page), timedelta(days=1))
        == (first["id"], mentor["id"])
    ]

    wrong_order = await stack.api.post(
        f"/v1/orders/{second['id']}/decision", params={"token": token}, json={"decision": "approve"}
    )
    assert wrong_order.status_code == 403

    declined = await stack.api.post(
        f"/v1/orders/{first['id']}/decision",
        params={"token": token},
        json={"decision": "decline", "reason": "I am travelling that week"},
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"

    twice = await stack.api.post(
        f"/v1/orders/{first['id']}/decision", params={"token": token}, json={"decision": "approve"}
    )
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] in ("decision_not_allowed", "order_closed")


async def test_orders_are_listed_and_filtered(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    created = (await stack.create_order(mentor["id"])).json()

    response = await stack.api.get(
        "/v1/orders", params={"mentor_id": mentor["id"]}, headers=stack.frontend
    )
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 1 and page["items"][0]["id"] == created["id"]
    missing = await stack.api.get(f"/v1/orders/{uuid.uuid4()}", headers=stack.frontend)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "order_not_found"


async def test_the_mentee_time_zone_is_kept_and_checked(stack: Stack) -> None:
    mentor = await stack.create_mentor(timezone="Europe/Berlin")
    mentee = {"name": "Budi", "email": "budi-tz@example.com", "timezone": "Asia/Makassar"}
    response = await stack.create_order(mentor["id"], mentee=mentee)
    assert response.status_code == 201, response.text
    assert response.json()["mentee"]["timezone"] == "Asia/Makassar"
    defaulted = await stack.create_order(
        mentor["id"],
        start_time=session_start(days_ahead=6),
        mentee={"name": "A", "email": "a@b.co"},
    )
    assert defaulted.json()["mentee"]["timezone"] == "Asia/Jakarta"

    bad = {**mentee, "timezone": "Mars/Olympus"}
    refused = await stack.create_order(mentor["id"], start_time=session_start(7), mentee=bad)
    assert refused.status_code == 422
    assert "mentee" in str(refused.json()) and "timezone" in str(refused.json())
