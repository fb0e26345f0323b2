"""The mentor decides from the link in their email, on a phone, in a real browser."""

import time
from typing import Any

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from playwright.async_api import Page

from mentoring.tokens import DECISION_PAGE_PATH, decision_page_url
from tests.pages.conftest import PAGE_BUDGET_BYTES, measure, screenshot
from tests.support import Stack, html_links

EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}


async def _paid_order(stack: Stack, **mentor: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    made = await stack.create_mentor(**mentor)
    response = await stack.create_order(made["id"])
    assert response.status_code == 201, response.text
    order = response.json()
    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    return made, order, await _link_in_the_request_email(stack, made["email"])


async def _link_in_the_request_email(stack: Stack, mentor_email: str) -> str:
    """The link the mentor taps in the decision request Gmail delivered to them."""
    await stack.wait_for_template(mentor_email, "mentor_request")
    pages = f"{stack.settings.public_base_url}{DECISION_PAGE_PATH}"
    links = {
        link
        for mail in await stack.mail_to(mentor_email)
        if mail["headers"]["X-Idempotency-Key"].split(":")[1] == "mentor_request"
        for link in html_links(mail["html"])
        if link.startswith(pages)
    }
    assert len(links) == 1, links
    return links.pop()


async def test_the_mentor_approves_on_a_phone_and_the_order_is_confirmed(
    stack: Stack, phone: Page
) -> None:
    _, order, link = await _paid_order(stack, locale="en", timezone="Europe/Berlin")

    response = await phone.goto(link)
    assert response is not None and response.status == 200
    assert await phone.locator("#topic").inner_text() == order["topic"]
    assert "Central European" in await phone.locator("#time").inner_text()
    assert "IDR\xa0300,000" in await phone.locator("#price").inner_text()
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide on a 360 px phone"
    await screenshot(phone, "mentor-decision-en")
    figures = await measure(phone, "mentor-decision")
    assert figures["requests"] == 1 and 0 < figures["bytes"] <= PAGE_BUDGET_BYTES, figures
    # Opening the link (a mail scanner's prefetch) decides nothing.
    assert (await stack.get_order(order["id"]))["status"] == "awaiting_mentor"

    await phone.locator("#approve").click()
    await phone.wait_for_selector("#notice[data-what=approved]")
    await screenshot(phone, "mentor-approved-en")
    await stack.wait_for_status(order["id"], "confirmed")

    again = await phone.goto(link)
    assert again is not None and again.status == 409
    assert await phone.locator("#notice").get_attribute("data-what") == "used"


async def test_the_mentor_declines_with_a_reason_in_indonesian(stack: Stack, phone: Page) -> None:
    _, order, link = await _paid_order(stack, locale="id")

    await phone.goto(link)
    assert "Setujui" in await phone.locator("#approve").inner_text()
    assert "Rp\xa0300.000" in await phone.locator("#price").inner_text()
    await screenshot(phone, "mentor-decision-id")
    await phone.locator("#reason").fill("Saya sedang cuti minggu itu")
    await phone.locator("#decline").click()
    await phone.wait_for_selector("#notice[data-what=declined]")

    declined = await stack.wait_for_status(order["id"], "declined")
    assert declined["mentor_decision"]["reason"] == "Saya sedang cuti minggu itu"


class _LongAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 400 * 24 * 3600


async def test_expired_tampered_and_foreign_links_get_pages_that_say_so(
    stack: Stack, phone: Page
) -> None:
    mentor, order, link = await _paid_order(stack, locale="en")
    secret = stack.settings.mentor_token_secret
    old = URLSafeTimedSerializer(secret, salt="mentor-order", signer=_LongAgo).dumps(
        {"o": order["id"], "m": mentor["id"]}
    )
    base = link.rsplit("/", 1)[0]

    expired = await phone.goto(f"{base}/{old}")
    assert expired is not None and expired.status == 410
    assert await phone.locator("#notice").get_attribute("data-what") == "expired_link"
    await screenshot(phone, "mentor-link-expired")

    tampered = await phone.goto(link[:-3] + ("abc" if not link.endswith("abc") else "xyz"))
    assert tampered is not None and tampered.status == 400
    assert await phone.locator("#notice").get_attribute("data-what") == "invalid_link"

    other = await stack.create_mentor()
    base_url = stack.settings.public_base_url
    foreign_link = decision_page_url(base_url, secret, order["id"], other["id"])
    foreign = await phone.goto(foreign_link)
    assert foreign is not None and foreign.status == 403

    assert (await stack.get_order(order["id"]))["status"] == "awaiting_mentor"
