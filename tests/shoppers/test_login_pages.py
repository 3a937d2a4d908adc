"""The sign-in pages: the two-step phone form, next= handling, sign-out, the cart merge and
isolation between malls."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from storefront.orders.cart import cart_add, cart_find, cart_get_or_create
from storefront.shoppers.models import LoginCode, Shopper
from storefront.web.shopper_session import SESSION_KEY
from tests.conftest import host_client
from tests.factories.catalog import SkuFactory

PHONE = "13912345678"

pytestmark = pytest.mark.django_db


def send_code(client, phone=PHONE, **extra):
    return client.post("/login/", {"agree": "on", "action": "send", "phone": phone, **extra})


def sign_in_with_code(client, outbox, phone=PHONE, next_url=None):
    data = {"next": next_url} if next_url is not None else {}
    assert send_code(client, phone, **data).status_code == 200
    return client.post(
        "/login/",
        {"agree": "on", "action": "verify", "phone": phone, "code": outbox.last_code(phone),
         **data},
    )


def test_the_form_has_the_ids_the_browser_test_uses(mall_client, outbox):
    page = mall_client.get("/login/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="phone"' in html and 'id="send-code"' in html
    assert 'id="code"' not in html and 'id="sign-in"' not in html
    assert "Sign in with WeChat" not in html  # WeChat is not configured here

    step_two = send_code(mall_client)
    html = step_two.content.decode()
    assert step_two.status_code == 200
    assert 'id="code"' in html and 'id="sign-in"' in html and 'id="send-code"' in html
    assert f'value="{PHONE}"' in html
    assert "139****5678" in html
    assert outbox.last_code(PHONE) is not None


def test_sign_in_with_a_code_opens_the_session_and_goes_to_next(mall_client, outbox, mall):
    response = sign_in_with_code(mall_client, outbox, next_url="/orders/?status=paid")

    assert response.status_code == 302
    assert response["Location"] == "/orders/?status=paid"
    shopper = Shopper.objects.get(phone=PHONE)
    assert mall_client.session[SESSION_KEY] == shopper.pk
    me = mall_client.get("/me/")
    assert me.status_code == 200
    assert "139****5678" in me.content.decode()
    # Signed in, /login/ sends the shopper on.
    assert mall_client.get("/login/?next=/me/addresses/")["Location"] == "/me/addresses/"


def test_the_session_key_changes_on_sign_in(mall_client, outbox):
    mall_client.get("/?ref=abc")  # an anonymous session (the share code is kept)
    before = mall_client.cookies["sessionid"].value
    sign_in_with_code(mall_client, outbox)
    assert mall_client.cookies["sessionid"].value != before
    assert mall_client.session["referrer_code"] == "abc"


@pytest.mark.parametrize(
    "evil",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
     "http:/evil.example", "javascript:alert(1)", "/\r\nSet-Cookie:x=1", "/\t/evil.example",
     "evil.example", "/login/", "", " /me/"],
)
def test_next_never_leaves_the_mall(mall_client, outbox, evil):
    response = sign_in_with_code(mall_client, outbox, next_url=evil)
    assert response.status_code == 302
    assert response["Location"] == "/me/"


def test_wrong_code_shows_the_form_again_and_signs_nobody_in(mall_client, outbox):
    send_code(mall_client)
    code = outbox.last_code(PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    response = mall_client.post(
        "/login/", {"agree": "on", "action": "verify", "phone": PHONE, "code": wrong}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "This code is not right. 4 attempts left." in html
    assert 'id="code"' in html
    assert SESSION_KEY not in mall_client.session
    assert not Shopper.objects.exists()


def test_invalid_phone_is_explained(mall_client, outbox):
    response = send_code(mall_client, "12345")
    assert response.status_code == 400
    assert "Enter a mainland China mobile number" in response.content.decode()
    assert 'id="code"' not in response.content.decode()
    assert outbox.outbox == []


def test_a_second_code_within_a_minute_is_refused(mall_client, outbox):
    send_code(mall_client)
    response = send_code(mall_client, step="code")
    assert response.status_code == 429
    assert "You can ask for another in" in response.content.decode()
    assert 'id="code"' in response.content.decode()  # still on the code step
    assert len(outbox.outbox) == 1


def test_too_many_codes_from_one_network_are_refused(mall, outbox, settings):
    settings.SHOPPER_CODE_IP_RATE = "2/hour"
    client = host_client(mall)
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    for number in ("13900000001", "13900000002"):
        response = client.post(
            "/login/", {"agree": "on", "action": "send", "phone": number}, REMOTE_ADDR=address
        )
        assert response.status_code == 200

    response = client.post(
        "/login/", {"agree": "on", "action": "send", "phone": "13900000003"}, REMOTE_ADDR=address
    )

    assert response.status_code == 429
    assert "Too many codes were requested from your network" in response.content.decode()
    assert LoginCode.objects.count() == 2


def test_anonymous_visitors_are_sent_to_sign_in(mall_client):
    response = mall_client.get("/me/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fme%2F"
    response = mall_client.get("/me/addresses/")
    assert response["Location"] == "/login/?next=%2Fme%2Faddresses%2F"


def test_sign_out_is_a_post(mall, shopper_client):
    assert shopper_client.get("/logout/").status_code == 405
    assert shopper_client.get("/me/").status_code == 200

    response = shopper_client.post("/logout/")

    assert response.status_code == 302
    assert SESSION_KEY not in shopper_client.session
    assert shopper_client.get("/me/").status_code == 302


def test_the_anonymous_cart_joins_the_shoppers_cart_on_sign_in(mall_client, outbox):
    sku = SkuFactory(product__search_text="tea")
    other_sku = SkuFactory(product__search_text="cup")
    session_key = mall_client.session.session_key
    cart_add(cart=cart_get_or_create(shopper=None, session_key=session_key), sku_id=sku.pk,
             quantity=2)
    existing = Shopper.objects.create(phone=PHONE)
    cart_add(cart=cart_get_or_create(shopper=existing, session_key=None), sku_id=sku.pk,
             quantity=1)
    cart_add(cart=cart_get_or_create(shopper=existing, session_key=None), sku_id=other_sku.pk,
             quantity=1)

    assert sign_in_with_code(mall_client, outbox).status_code == 302

    cart = cart_find(shopper=existing, session_key=None)
    assert {line.sku_id: line.quantity for line in cart.lines.all()} == {
        sku.pk: 3, other_sku.pk: 1
    }
    assert cart_find(shopper=None, session_key=session_key) is None


def test_a_shopper_session_from_one_mall_means_nothing_on_another(
    mall, other_mall, mall_client, outbox
):
    connection.set_tenant(mall)
    sign_in_with_code(mall_client, outbox)
    cookie = mall_client.cookies["sessionid"].value
    assert mall_client.get("/me/").status_code == 200

    stranger = host_client(other_mall)
    stranger.cookies["sessionid"] = cookie
    try:
        page = stranger.get("/me/")
        api = stranger.get("/api/v1/me/")
    finally:
        connection.set_tenant(mall)

    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert api.status_code == 401


def test_a_shopper_id_means_another_person_on_another_mall(mall, other_mall):
    """A session naming shopper #N on mall B is about B's shopper #N (here: nobody)."""
    connection.set_tenant(mall)  # making other_mall switched the connection to public
    shopper = Shopper.objects.create(phone=PHONE)
    client = host_client(other_mall)
    try:
        connection.set_tenant(other_mall)
        session = client.session
        session[SESSION_KEY] = shopper.pk
        session.save()
        response = client.get("/me/")
    finally:
        connection.set_tenant(mall)
    assert response.status_code == 302


def test_a_forged_forwarded_for_does_not_reset_the_code_limit(mall, outbox, settings):
    settings.SHOPPER_CODE_IP_RATE = "2/hour"
    client = host_client(mall)
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    statuses = [
        client.post(
            "/login/", {"agree": "on", "action": "send", "phone": number}, REMOTE_ADDR=address,
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        ).status_code
        for attempt, number in enumerate(("13900000001", "13900000002", "13900000003"))
    ]

    assert statuses == [200, 200, 429]
    assert LoginCode.objects.count() == 2
