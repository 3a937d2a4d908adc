"""The shopper's pay page: GET shows the order and a pay button and starts nothing; the
CSRF-protected POST starts the WeChat payment (with the client's real address)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from storefront.orders.services import CheckoutItem, order_place
from storefront.payments.models import Payment
from storefront.web.shopper_session import SESSION_KEY

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


@pytest.fixture
def unpaid(mall, paying_mall, sim):
    merchant, sku, shopper, address = paying_mall(mall)
    order = order_place(
        shopper=shopper, items=[CheckoutItem(sku.pk, 1)], address_id=address.pk,
        referrer_code=None,
    )
    client = Client(HTTP_HOST=mall.primary_host.split(":")[0], enforce_csrf_checks=True,
                    HTTP_ACCEPT_LANGUAGE="en")
    session = client.session
    session[SESSION_KEY] = shopper.pk
    session.save()
    return client, order


def csrf_token(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]


def test_get_shows_the_pay_button_and_starts_no_payment(unpaid):
    client, order = unpaid
    page = client.get(f"/orders/{order.number}/pay/", HTTP_USER_AGENT=DESKTOP)

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="start-payment"' in html and 'method="post"' in html
    assert "¥29.90" in html
    assert not Payment.objects.exists()
    # Reloading, prefetching or crawling the page starts nothing either.
    client.get(f"/orders/{order.number}/pay/?channel=h5", HTTP_USER_AGENT=PHONE)
    assert not Payment.objects.exists()


def test_post_starts_the_payment(unpaid):
    client, order = unpaid
    page = client.get(f"/orders/{order.number}/pay/", HTTP_USER_AGENT=DESKTOP)

    started = client.post(f"/orders/{order.number}/pay/",
                          {"csrfmiddlewaretoken": csrf_token(page)}, HTTP_USER_AGENT=DESKTOP)

    assert started.status_code == 200
    payment = Payment.objects.get(order=order)
    assert payment.channel == "native" and payment.code_url
    assert 'id="open-cashier"' in started.content.decode()


def test_post_without_the_csrf_token_is_refused(unpaid):
    client, order = unpaid
    refused = client.post(f"/orders/{order.number}/pay/", {}, HTTP_USER_AGENT=DESKTOP)
    assert refused.status_code == 403
    assert not Payment.objects.exists()


def test_the_channel_asked_on_get_is_carried_by_the_form(unpaid, sim):
    client, order = unpaid
    page = client.get(f"/orders/{order.number}/pay/?channel=h5", HTTP_USER_AGENT=DESKTOP)
    assert 'name="channel" value="h5"' in page.content.decode()

    client.post(f"/orders/{order.number}/pay/",
                {"csrfmiddlewaretoken": csrf_token(page), "channel": "h5"},
                HTTP_USER_AGENT=PHONE, REMOTE_ADDR="198.51.100.23",
                HTTP_X_FORWARDED_FOR="6.6.6.6")

    payment = Payment.objects.get(order=order)
    assert payment.channel == "h5"
    transaction = next(tx for tx in sim.simulator.state.transactions.values()
                       if tx.out_trade_no == payment.out_trade_no)
    # WeChat is told the socket's address, not what the client wrote in X-Forwarded-For.
    assert transaction.scene_info["payer_client_ip"] == "198.51.100.23"
