"""客服 end to end, in two browsers: a shopper on a phone asks a question in the mall; a
customer-service member of staff answers in the console; the shopper sees the answer on the
ticket's page, and the WeChat simulator received it as a customer-service message (sent by
a real Celery worker from the outbox after the reply committed)."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth import get_user_model
from django.db import connection

from control_plane.celery import app as celery_app
from merchant_console.roles import role_group
from storefront.shoppers.models import Shopper
from storefront.shoppers.senders import MemoryCodeSender
from storefront.support.models import Ticket, TicketMessage, TicketStatus, WeChatDelivery
from tests.conftest import OWNER_PASSWORD
from tests.e2e.conftest import live_mall
from tests.payments.conftest import test_user_openid as sim_openid
from tests.payments.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]

PHONE = "13933330003"
STAFF_EMAIL = "kefu@example.com"


@pytest.fixture
def service_mall(live_server, settings, wechat_settings):
    settings.SHOPPER_CODE_SENDER = "storefront.shoppers.senders.MemoryCodeSender"
    settings.SHOPPER_CODE_IP_RATE = ""
    base, merchant = live_mall(live_server, settings, name="Service Mall", slug="service-mall")
    connection.set_tenant(merchant)
    staff = get_user_model().objects.create_user(
        username=STAFF_EMAIL, email=STAFF_EMAIL, password=OWNER_PASSWORD, is_staff=True)
    staff.groups.set([role_group("customer_service")])
    connection.set_schema_to_public()
    MemoryCodeSender.clear()
    yield base, merchant
    connection.set_schema_to_public()


def test_a_shopper_asks_staff_answer_and_the_shopper_reads_it(
    service_mall, phone, browser, wechat_sim, wechat_settings,
):
    base, merchant = service_mall
    page = phone

    # The shopper signs in with their phone number...
    page.goto(base + "/help/")
    page.wait_for_url("**/login/**")
    page.fill("#phone", PHONE)
    page.check("#agree")  # PIPL consent
    page.click("#send-code")
    page.wait_for_selector("#code")
    page.fill("#code", MemoryCodeSender.last_code(PHONE))
    page.click("#sign-in")
    page.wait_for_url("**/help/")
    # ...and has WeChat linked (an openid of the simulator's official account).
    openid = sim_openid(wechat_sim[0], wechat_settings.WECHAT_OAUTH_APP_ID, "dave")
    connection.set_tenant(merchant)
    Shopper.objects.filter(phone=PHONE).update(wechat_openid=openid)
    connection.set_schema_to_public()

    page.fill("#ticket-subject", "尺码问题")
    page.fill("#ticket-body", "身高170穿什么码？")
    page.click("#ticket-submit")
    page.wait_for_selector("#ticket-number")
    number = page.inner_text("#ticket-number").strip()
    assert page.get_attribute("#ticket-status", "data-status") == "open"
    assert "身高170穿什么码？" in page.inner_text("#conversation")

    # Customer service answers in the console, with a worker running the outbox's tasks.
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    console = context.new_page()
    console.set_default_timeout(15000)
    try:
        with start_worker(celery_app, perform_ping_check=False, pool="solo",
                          loglevel="WARNING"):
            console.goto(base + "/console/service/")
            console.wait_for_url("**/console/login/**")
            console.fill("#id_username", STAFF_EMAIL)
            console.fill("#id_password", OWNER_PASSWORD)
            console.click("button[type=submit]")
            console.wait_for_url("**/console/service/")
            assert console.locator("nav.console-nav a.current").get_attribute(
                "data-area") == "service"
            console.click(f"#tickets a:has-text('{number}')")
            console.wait_for_selector("#reply-body")
            assert "身高170穿什么码？" in console.inner_text("#conversation")
            console.fill("#reply-body", "您好，170建议穿M码。")
            console.click("#reply-submit")
            console.wait_for_selector(".messages")
            assert console.get_attribute("#ticket-status", "data-status") == "waiting_shopper"

            connection.set_tenant(merchant)
            reply = TicketMessage.objects.get(ticket__number=number, author_kind="staff")
            assert wait_for(lambda: TicketMessage.objects.get(pk=reply.pk).wechat_delivery
                            == WeChatDelivery.SENT)
            connection.set_schema_to_public()
    finally:
        context.close()

    # The shopper sees the answer on their ticket page...
    page.reload()
    assert page.get_attribute("#ticket-status", "data-status") == "waiting_shopper"
    bubbles = page.locator("#conversation li[data-author=staff]")
    assert bubbles.count() == 1 and "170建议穿M码" in bubbles.inner_text()
    # ...and in WeChat: the simulator recorded the customer-service message.
    import requests

    sent = [m for m in requests.get(f"{wechat_sim[0].base_url}/_sim/messages", timeout=5).json()
            if m["kind"] == "custom" and m["touser"] == openid]
    assert len(sent) == 1 and "170建议穿M码" in sent[0]["content"]
    assert f"/help/tickets/{number}/" in sent[0]["content"]

    # The shopper writes back: the ticket is open again for staff.
    page.fill("#reply-body", "谢谢！")
    page.click("#reply-submit")
    page.wait_for_selector("#conversation li:has-text('谢谢！')")
    connection.set_tenant(merchant)
    assert Ticket.objects.get(number=number).status == TicketStatus.OPEN
    connection.set_schema_to_public()
