"""The admin signs in with the admin key, finds the flagged orders and resolves one, in a real
browser."""

from playwright.async_api import Page

from tests.pages.conftest import screenshot
from tests.support import Stack, flagged_order


async def test_the_admin_signs_in_and_resolves_a_refund_paid_by_hand(
    stack: Stack, phone: Page
) -> None:
    order = await flagged_order(stack)
    base = stack.settings.public_base_url

    await phone.goto(f"{base}/pages/admin")
    assert phone.url.endswith("/pages/admin/login")
    await phone.locator("#key").fill("not the key")
    await phone.locator("#sign-in").click()
    await phone.wait_for_selector("#failed")

    await phone.locator("#key").fill(stack.settings.admin_api_key)
    await phone.locator("#sign-in").click()
    card = phone.locator(f"form.flagged[data-order='{order['id']}']")
    await card.wait_for()
    assert await card.locator("[data-flag=refund_manual_required]").count() == 1
    await screenshot(phone, "admin-flagged")

    await card.locator("textarea[name=note]").fill("Paid back by BCA transfer")
    await card.locator("input[name=reference]").fill("BCA-7781")
    await card.locator("button.resolve").click()
    await phone.wait_for_selector(f"#resolved[data-order='{order['id']}']")
    assert await phone.locator(f"form.flagged[data-order='{order['id']}']").count() == 0

    after = await stack.get_order(order["id"])
    assert after["needs_admin"] is False
    assert after["refund"]["refund_id"] == "manual:BCA-7781"
    resolution = [e for e in after["timeline"] if e["event"] == "flag_resolved"]
    assert resolution[0]["data"]["note"] == "Paid back by BCA transfer"

    await phone.locator("#sign-out").click()
    await phone.goto(f"{base}/pages/admin")
    assert phone.url.endswith("/pages/admin/login")
