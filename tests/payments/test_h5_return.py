"""Back from WeChat's H5 cashier: the h5_url carries redirect_url (the order page on the
mall's own host); the order page waits for the callback or query by polling a light
endpoint, bounded, and shows paid / failed / closed. The return itself marks nothing."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from core.actors import Actor
from storefront.orders.models import OrderStatus
from storefront.orders.services import CheckoutItem, order_place
from storefront.payments import services
from storefront.payments.models import Payment, PaymentStatus
from storefront.web.shopper_session import SESSION_KEY
from tests.factories.shoppers import ShopperFactory

from .conftest import sim_pay

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"

pytestmark = pytest.mark.django_db


def _client(mall, shopper) -> Client:
    client = Client(HTTP_HOST=mall.primary_host.split(":")[0], HTTP_ACCEPT_LANGUAGE="en")
    session = client.session
    session[SESSION_KEY] = shopper.pk
    session.save()
    return client


@pytest.fixture
def unpaid(mall, paying_mall, sim):
    merchant, sku, shopper, address = paying_mall(mall)
    order = order_place(
        shopper=shopper, items=[CheckoutItem(sku.pk, 1)], address_id=address.pk,
        referrer_code=None,
    )
    return _client(mall, shopper), order


def _start_h5(client, order):
    started = client.post(f"/orders/{order.number}/pay/", {"channel": "h5"},
                          HTTP_USER_AGENT=PHONE)
    assert started.status_code == 200
    href = re.search(r'id="open-cashier" href="([^"]+)"', started.content.decode())[1]
    return href.replace("&amp;", "&"), Payment.objects.get(order=order)


def _state(client, order, t0=None, **headers):
    url = f"/orders/{order.number}/pay/state/"
    if t0 is not None:
        url += f"?t0={t0}"
    return client.get(url, **headers)


def test_the_h5_url_carries_the_order_page_as_redirect_url(mall, unpaid):
    client, order = unpaid
    href, payment = _start_h5(client, order)

    assert payment.channel == "h5"
    assert href.startswith(payment.h5_url + "?redirect_url=")  # stored as WeChat gave it
    host = mall.primary_host.split(":")[0]
    assert "redirect_url=http%3A%2F%2F" in href  # urlencoded, as WeChat's docs say
    assert parse_qs(urlsplit(href).query)["redirect_url"] == [
        f"http://{host}/orders/{order.number}/?from=cashier"]


def test_h5_url_with_return_appends_to_an_existing_query():
    assert services.h5_url_with_return(
        h5_url="https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=2",
        return_url="https://m.shop.cn/orders/A1/?from=cashier",
    ) == ("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=2"
          "&redirect_url=https%3A%2F%2Fm.shop.cn%2Forders%2FA1%2F%3Ffrom%3Dcashier")


def test_the_simulator_cashier_sends_the_shopper_back_to_the_order_page(mall, unpaid, sim):
    client, order = unpaid
    href, payment = _start_h5(client, order)
    browser = requests.Session()
    page = browser.get(href, timeout=5)
    back = re.search(r'name="redirect_url" value="([^"]+)"', page.text)[1]
    action = re.search(r'action="([^"]+)"', page.text)[1]
    paid = browser.post(sim.base_url + action, data={"action": "pay", "redirect_url": back},
                        allow_redirects=False, timeout=5)

    assert paid.status_code == 302
    location = paid.headers["Location"]
    assert location.endswith(f"/orders/{order.number}/?from=cashier")
    # Arriving back marks nothing: until the callback or the query applies, it waits.
    arrived = client.get(urlsplit(location).path + "?from=cashier")
    html = arrived.content.decode()
    assert 'id="payment-confirming"' in html and 'hx-trigger="every 1500ms"' in html
    assert "htmx.min.js" in html
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_the_state_endpoint_polls_until_the_query_marks_it_paid(mall, unpaid, sim):
    client, order = unpaid
    _href, payment = _start_h5(client, order)
    t0 = int(time.time())

    pending = _state(client, order, t0)
    assert pending.status_code == 200
    assert 'data-state="pending"' in pending.content.decode()
    assert f'hx-get="/orders/{order.number}/pay/state/?t0={t0}"' in pending.content.decode()

    sim_pay(sim, payment)
    services.payment_query(payment=payment)  # the existing query path (or the callback)

    paid = _state(client, order, t0, HTTP_HX_REQUEST="true")
    html = paid.content.decode()
    assert 'data-state="paid"' in html and 'id="payment-result"' in html
    assert "hx-get" not in html  # polling stops
    assert paid["HX-Refresh"] == "true"  # the whole page reloads with the new status
    page = client.get(f"/orders/{order.number}/?from=cashier").content.decode()
    assert 'data-state="paid"' in page and "htmx.min.js" not in page


def test_after_thirty_seconds_it_stops_and_says_to_refresh(mall, unpaid):
    client, order = unpaid
    _start_h5(client, order)

    late = _state(client, order, int(time.time()) - 31).content.decode()

    assert 'data-state="pending"' in late and "hx-get" not in late
    assert "Still waiting" in late and 'id="payment-refresh"' in late
    # A bad or future start restarts the clock rather than failing.
    assert "hx-get" in _state(client, order, "yesterday").content.decode()
    assert "hx-get" in _state(client, order, int(time.time()) + 3600).content.decode()


def test_failed_and_closed_are_shown(mall, unpaid):
    client, order = unpaid
    _href, payment = _start_h5(client, order)

    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.FAILED)
    failed = _state(client, order, int(time.time())).content.decode()
    assert 'data-state="failed"' in failed and "hx-get" not in failed
    assert f'href="/orders/{order.number}/pay/"' in failed  # pay again

    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.CLOSED)
    assert 'data-state="closed"' in _state(client, order).content.decode()

    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.PENDING)
    services.order_cancel_unpaid(order=order, actor=Actor.shopper(order.shopper_id),
                                 reason="test")
    closed = _state(client, order).content.decode()
    assert 'data-state="closed"' in closed and "/pay/" not in closed


def test_only_the_orders_shopper_sees_its_state(mall, unpaid):
    _client_of_owner, order = unpaid
    stranger = _client(mall, ShopperFactory())
    assert _state(stranger, order).status_code == 404
    anonymous = Client(HTTP_HOST=mall.primary_host.split(":")[0])
    assert _state(anonymous, order).status_code == 404
    assert stranger.get("/orders/NOPE/pay/state/").status_code == 404


def test_the_state_endpoint_is_light(mall, unpaid, django_assert_max_num_queries):
    client, order = unpaid
    _start_h5(client, order)
    client.get("/")  # warm the session and the mall's settings
    with django_assert_max_num_queries(8):
        assert _state(client, order).status_code == 200
