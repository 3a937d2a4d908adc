import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from core.actors import Actor
from core.errors import DomainError
from tenants import services
from tenants.models import Merchant, MerchantStatus, MerchantStatusChange
from tests.conftest import OWNER_PASSWORD, host_client

pytestmark = pytest.mark.django_db


def test_suspended_mall_shows_paused_page_and_keeps_its_data(make_merchant):
    merchant = make_merchant(name="Paused Tea").merchant
    services.merchant_suspend(merchant=merchant, actor=Actor.system(), reason="unpaid")

    client = host_client(merchant)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert "paused" in response.content.decode()
    assert "Paused Tea" in response.content.decode()
    api = client.get("/api/v1/anything/")
    assert api.status_code == 503
    assert api.json()["code"] == "mall_paused"
    # staff can still sign in and see why
    assert client.post(
        "/console/login/", {"username": "owner@example.com", "password": OWNER_PASSWORD}
    ).status_code == 302
    console = client.get("/console/", HTTP_ACCEPT_LANGUAGE="en")
    assert console.status_code == 200
    assert "paused" in console.content.decode()
    with schema_context(merchant.schema_name):
        assert get_user_model().objects.filter(username="owner@example.com").exists()

    services.merchant_reactivate(merchant=merchant, actor=Actor.system())
    assert client.get("/").status_code == 200


def test_illegal_transition_is_refused_and_changes_nothing(make_merchant):
    merchant = make_merchant().merchant
    services.merchant_change_status(
            merchant=merchant, to_status=MerchantStatus.CLOSED, actor=Actor.system()
        )

    with pytest.raises(DomainError) as excinfo:
        services.merchant_reactivate(merchant=merchant, actor=Actor.system())

    assert excinfo.value.status == 409
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.CLOSED
    assert MerchantStatusChange.objects.filter(merchant=merchant).count() == 1
    assert host_client(merchant).get("/").status_code == 410


@pytest.mark.parametrize(
    ("from_status", "to_status", "allowed"),
    [
        ("trial", "active", True), ("trial", "suspended", True), ("active", "past_due", True),
        ("past_due", "active", True), ("past_due", "suspended", True),
        ("suspended", "active", True), ("suspended", "closed", True),
        ("active", "trial", False), ("suspended", "past_due", False), ("closed", "active", False),
        ("closed", "trial", False), ("trial", "trial", False),
    ],
)
def test_status_transition_map(make_merchant, from_status, to_status, allowed):
    merchant = make_merchant().merchant
    Merchant.objects.filter(pk=merchant.pk).update(status=from_status)
    if allowed:
        services.merchant_change_status(
            merchant=merchant, to_status=to_status, actor=Actor.system()
        )
        change = MerchantStatusChange.objects.get(merchant=merchant)
        assert (change.from_status, change.to_status) == (from_status, to_status)
    else:
        with pytest.raises(DomainError):
            services.merchant_change_status(
                merchant=merchant, to_status=to_status, actor=Actor.system()
            )
        assert not MerchantStatusChange.objects.filter(merchant=merchant).exists()
    assert Merchant.objects.get(pk=merchant.pk).status == (to_status if allowed else from_status)


def test_platform_admin_suspends_and_reactivates(make_merchant):
    merchant = make_merchant().merchant
    connection.set_schema_to_public()
    admin = get_user_model().objects.create_superuser(
        username="root@platform.test", email="root@platform.test", password=OWNER_PASSWORD
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)

    listing = client.get("/admin/tenants/merchant/")
    assert listing.status_code == 200
    assert merchant.slug in listing.content.decode()
    plans = client.get("/admin/billing/plan/")
    assert plans.status_code == 200
    assert "starter" in plans.content.decode()

    response = client.post(
        "/admin/tenants/merchant/",
        {"action": "suspend", "_selected_action": [merchant.pk]},
    )
    assert response.status_code == 302
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.SUSPENDED
    change = MerchantStatusChange.objects.get(merchant=merchant)
    assert change.actor == Actor.platform_admin(admin.pk)
    assert host_client(merchant).get("/").status_code == 503

    client.post(
        "/admin/tenants/merchant/",
        {"action": "reactivate", "_selected_action": [merchant.pk]},
    )
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.ACTIVE
    assert host_client(merchant).get("/").status_code == 200


def test_tenant_staff_cannot_reach_platform_admin(make_merchant):
    merchant = make_merchant().merchant
    client = host_client(merchant)
    client.post("/console/login/", {"username": "owner@example.com", "password": OWNER_PASSWORD})
    assert client.get("/admin/").status_code == 404
