"""The mentee follows the order from the link in their emails, on a phone, in their zone."""

from playwright.async_api import Page

from mentoring.tokens import order_page_url
from tests.pages.conftest import screenshot
from tests.support import Stack

EWALLET = {"payment_method": "EWALLET", "payment_channel": "OVO"}


async def test_the_mentee_sees_the_payment_link_then_the_meet_link_then_cancels(
    stack: Stack, phone: Page
) -> None:
    mentor = await stack.create_mentor(timezone="Europe/Berlin")
    mentee = {"name": "Budi", "email": "budi-page@example.com", "locale": "id"}
    mentee["timezone"] = "Asia/Jayapura"
    response = await stack.create_order(mentor["id"], mentee=mentee)
    assert response.status_code == 201, response.text
    order = response.json()
    settings = stack.settings
    link = order_page_url(settings.public_base_url, settings.mentor_token_secret, order["id"])

    await phone.goto(link)
    assert await phone.locator("#status").get_attribute("data-status") == "awaiting_payment"
    assert "Waktu Indonesia Timur" in await phone.locator("#time").inner_text()
    assert await phone.locator("#pay").get_attribute("href") == order["payment"]["invoice_url"]
    await screenshot(phone, "mentee-order-unpaid-id")

    await stack.pay(order["payment"]["invoice_id"], **EWALLET)
    await stack.wait_for_status(order["id"], "awaiting_mentor")
    assert (await stack.decide(order["id"], "approve")).status_code == 200
    confirmed = await stack.wait_for_status(order["id"], "confirmed")
    await phone.goto(link)
    assert await phone.locator("#meet").get_attribute("href") == confirmed["session"]["meet_url"]
    await screenshot(phone, "mentee-order-confirmed-id")

    await phone.locator("summary", has_text="Batalkan").click()
    await phone.locator("#cancel-reason").fill("Ada urusan keluarga")
    await phone.locator("#cancel").click()
    await phone.wait_for_selector("#done[data-what=cancelled]")
    assert await phone.locator("#status").get_attribute("data-status") == "cancelled"
    await screenshot(phone, "mentee-order-cancelled-id")
