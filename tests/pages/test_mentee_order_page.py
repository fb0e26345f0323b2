"""The mentee follows the order from the link in their emails, on a phone, in their zone."""

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page

from mentoring.tokens import ORDER_PAGE_PATH, order_page_url
from tests.pages.conftest import PAGE_BUDGET_BYTES, measure, screenshot
from tests.support import Stack, wait_until

JAKARTA = ZoneInfo("Asia/Jakarta")
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


def _back_on_the_order_page(payment: str) -> Callable[[str], bool]:
    """The order page Xendit's checkout redirects to, with how the payment went."""
    base = f"{ORDER_PAGE_PATH}"
    return lambda url: base in url and url.endswith(f"?payment={payment}")


async def test_the_mentee_pays_on_the_checkout_page_and_comes_back_to_the_order(
    stack: Stack, phone: Page
) -> None:
    mentor = await stack.create_mentor(name="Ayu Lestari")
    mentee = {"name": "Sarah", "email": "sarah-checkout@example.com", "locale": "en"}
    response = await stack.create_order(mentor["id"], mentee=mentee)
    assert response.status_code == 201, response.text
    order = response.json()
    settings = stack.settings
    order_page = order_page_url(settings.public_base_url, settings.mentor_token_secret, order["id"])

    await phone.goto(order_page)
    figures = await measure(phone, "mentee-order")
    assert figures["requests"] == 1 and 0 < figures["bytes"] <= PAGE_BUDGET_BYTES, figures
    await phone.locator("#pay").click()
    await phone.wait_for_url(order["payment"]["invoice_url"])
    assert await phone.locator("#amount").inner_text() == "Rp 300.000"
    assert "Sarah" in await phone.locator("#customer").inner_text()
    await screenshot(phone, "checkout-en")
    await measure(phone, "emulator-checkout")

    await phone.locator("#channel").select_option("EWALLET:OVO")
    await phone.locator("#pay").click()
    await phone.wait_for_url(_back_on_the_order_page("success"))
    await screenshot(phone, "mentee-order-after-paying-en")

    await stack.wait_for_status(order["id"], "awaiting_mentor")

    async def shows_the_payment() -> bool:
        await phone.reload()
        status = await phone.locator("#status").get_attribute("data-status")
        return status == "awaiting_mentor" and await phone.locator("#payment-notice").count() == 0

    await wait_until(shows_the_payment, "the order page to show the payment")
    assert await phone.locator("#pay").count() == 0


async def test_a_failed_payment_brings_the_mentee_back_with_a_way_to_try_again(
    stack: Stack, phone: Page
) -> None:
    mentor = await stack.create_mentor()
    mentee = {"name": "Budi", "email": "budi-fails@example.com", "locale": "id"}
    response = await stack.create_order(mentor["id"], mentee=mentee)
    assert response.status_code == 201, response.text
    order = response.json()

    await phone.goto(order["payment"]["invoice_url"])
    assert "Rp" in await phone.locator("#amount").inner_text()
    await screenshot(phone, "checkout-id")
    await phone.locator("#fail").click()
    await phone.wait_for_url(_back_on_the_order_page("failed"))
    notice = phone.locator("#payment-notice")
    assert await notice.get_attribute("data-what") == "payment_failed"
    assert "Pembayaran tidak berhasil" in await notice.inner_text()
    assert await phone.locator("#pay").get_attribute("href") == order["payment"]["invoice_url"]
    await screenshot(phone, "mentee-order-payment-failed-id")
    assert (await stack.get_order(order["id"]))["status"] == "awaiting_payment"


async def test_the_mentee_moves_the_session_to_one_of_the_mentors_free_times(
    stack: Stack, phone: Page
) -> None:
    mentor = await stack.create_mentor(timezone="Asia/Jakarta")
    day = (datetime.now(JAKARTA) + timedelta(days=6)).date()
    hours = {
        "weekly": [],
        "exceptions": [{"date": day.isoformat(), "start": "09:00", "end": "12:00"}],
        "slot_step_minutes": 60,
    }
    put = await stack.api.put(
        f"/v1/mentors/{mentor['id']}/availability", json=hours, headers=stack.admin
    )
    assert put.status_code == 200, put.text
    nine = datetime(day.year, day.month, day.day, 9, tzinfo=JAKARTA)
    mentee = {"name": "Budi", "email": "budi-moves@example.com", "locale": "en"}
    response = await stack.create_order(mentor["id"], mentee=mentee, start_time=nine)
    assert response.status_code == 201, response.text
    order = response.json()
    settings = stack.settings
    link = order_page_url(settings.public_base_url, settings.mentor_token_secret, order["id"])

    await phone.goto(link)
    await phone.locator("summary", has_text="Choose another time").click()
    options = await phone.locator("#start option").all_inner_texts()
    assert [o.split(", ")[-1] for o in options] == ["10:00", "11:00"]
    assert "Asia/Jakarta" in await phone.locator("label[for=start]").inner_text()
    await phone.locator("#start").select_option(index=1)
    await screenshot(phone, "mentee-order-reschedule-en")
    await phone.locator("#reschedule").click()
    await phone.wait_for_selector("#done[data-what=rescheduled]")

    moved = await stack.get_order(order["id"])
    assert datetime.fromisoformat(moved["start_time"]) == nine + timedelta(hours=2)
