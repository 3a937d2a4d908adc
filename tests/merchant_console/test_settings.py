"""Console → Settings: who may change them, that the storefront uses what staff set (name,
theme colour, logo, contact phone, shipping fees), the order periods, the shipping
templates, the billing tab, the pages moved under the settings tabs, their audit rows, bad
input refused with nothing changed, and the staff API beside each page."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils import timezone

from merchant_console.models import AuditEntry
from storefront.orders.models import OrderSettings, ShippingTemplate
from storefront.orders.pricing import shipping_fee
from tenants.models import Merchant, MerchantStatus
from tests.catalog.conftest import media_root, other_mall_staff_client  # noqa: F401 - fixtures
from tests.factories.catalog import image_bytes

pytestmark = pytest.mark.django_db

SETTINGS_ROLES = {"owner": 200, "admin": 200, "finance": 403, "operations": 403,
                  "customer_service": 403}


@pytest.fixture
def staff_client(staff_client):
    """The conftest's staff clients, reading the console in English."""

    def _make(role: str):
        client = staff_client(role)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return _make


@pytest.fixture
def template(mall):
    from tests.factories.orders import ShippingRegionFeeFactory, ShippingTemplateFactory

    made = ShippingTemplateFactory(name="全国包邮", default_fee_fen=800, free_above_fen=9900,
                                   is_default=True)
    ShippingRegionFeeFactory(template=made, provinces=["新疆", "西藏"], fee_fen=2000)
    return made


def _mall(mall) -> Merchant:
    return Merchant.objects.get(pk=mall.pk)


def _audits(action: str):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


# ------------------------------------------------------------------ who may change them


def test_settings_pages_and_api_answer_exactly_owner_and_admin(mall, template, staff_client):
    pages = ["/console/settings/", "/console/settings/orders/", "/console/settings/shipping/",
             "/console/settings/shipping/new/", f"/console/settings/shipping/{template.pk}/",
             "/console/settings/billing/"]
    apis = ["/api/v1/console/settings/profile/", "/api/v1/console/settings/orders/",
            "/api/v1/console/settings/shipping-templates/",
            f"/api/v1/console/settings/shipping-templates/{template.pk}/",
            "/api/v1/console/settings/billing/"]
    for role, expected in SETTINGS_ROLES.items():
        client = staff_client(role)
        for url in pages + apis:
            assert client.get(url).status_code == expected, (role, url)
    for role in ("finance", "operations", "customer_service"):
        client = staff_client(role)
        assert client.post("/console/settings/orders/", {
            "auto_cancel_minutes": 60, "auto_receive_days": 10, "after_sales_days": 7,
        }).status_code == 403
        assert client.patch("/api/v1/console/settings/profile/", {"name": "x"},
                            content_type="application/json").status_code == 403
    assert OrderSettings.current().auto_cancel_minutes == 30
    assert _mall(mall).name == "Test Mall"


@pytest.mark.parametrize("url", ["/console/wechat-pay/", "/console/sign-in-locks/"])
def test_wechat_pay_and_sign_in_locks_stay_the_owners_under_the_settings_tabs(
        staff_client, url):
    owner = staff_client("owner")
    response = owner.get(url)
    assert response.status_code == 200
    assert [a["key"] for a in response.context["console_areas"] if a["current"]] == [
        "settings"]
    html = response.content.decode()
    assert 'class="console-nav"' in html and 'href="/console/settings/billing/"' in html
    assert staff_client("admin").get(url).status_code == 403


def test_anonymous_and_other_malls_staff_are_nobody(mall, mall_client,
                                                    other_mall_staff_client):  # noqa: F811
    for url in ("/console/settings/", "/console/settings/orders/", "/console/settings/billing/",
                "/console/settings/shipping/"):
        response = mall_client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(
            "/console/login/")
        assert other_mall_staff_client.get(url).status_code == 302
    assert mall_client.get("/api/v1/console/settings/profile/").status_code == 403
    assert other_mall_staff_client.patch(
        "/api/v1/console/settings/profile/", {"name": "Hijacked"},
        content_type="application/json").status_code == 403
    assert _mall(mall).name == "Test Mall"


# ------------------------------------------------------------------ the mall's profile


def test_theme_colour_name_and_phone_show_in_the_storefront(mall, mall_client, staff_client):
    client = staff_client("admin")
    response = client.post("/console/settings/", {
        "name": "花花小铺", "theme_colour": "#FF5500", "contact_phone": "400-820-8820"})
    assert response.status_code == 302
    saved = _mall(mall)
    assert (saved.name, saved.theme_colour, saved.contact_phone) == (
        "花花小铺", "#ff5500", "400-820-8820")
    html = mall_client.get("/").content.decode()
    assert ":root { --brand: #ff5500; }" in html
    assert "花花小铺" in html and 'href="tel:400-820-8820"' in html
    [entry] = _audits("mall.profile_update")
    assert entry.area == "settings" and entry.actor_id == client.user.pk
    assert entry.detail["theme_colour"] == ["#07c160", "#ff5500"]
    assert entry.detail["name"] == ["Test Mall", "花花小铺"]


def test_a_logo_upload_shows_in_the_malls_header(mall, mall_client, staff_client, media_root):  # noqa: F811
    client = staff_client("owner")
    upload = SimpleUploadedFile("logo.png", image_bytes(fmt="PNG", size=(120, 60)),
                                content_type="image/png")
    response = client.post("/console/settings/", {
        "name": "Test Mall", "theme_colour": "#07c160", "logo": upload})
    assert response.status_code == 302
    saved = _mall(mall)
    assert saved.logo.name.startswith("mall/") and saved.logo.name.endswith(".png")
    assert (media_root / mall.schema_name / saved.logo.name).exists()
    # the home page's shop header, and the bar of every other page
    assert f'<img class="shop-logo" src="{saved.logo.url}"' in mall_client.get("/").content.decode()
    html = mall_client.get("/categories/").content.decode()
    assert f'<img class="mall-logo" src="{saved.logo.url}"' in html
    assert _audits("mall.profile_update")[0].detail["logo"] == ["", saved.logo.name]
    removed = client.post("/console/settings/", {
        "name": "Test Mall", "theme_colour": "#07c160", "remove_logo": "on"})
    assert removed.status_code == 302
    assert not _mall(mall).logo
    assert 'class="shop-logo" src=' not in mall_client.get("/").content.decode()
    assert 'class="mall-logo"' not in mall_client.get("/categories/").content.decode()


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"theme_colour": "red"}, "theme_colour", "six hex digits"),
    ({"theme_colour": "#12345g"}, "theme_colour", "six hex digits"),
    ({"theme_colour": "#fff;}x"}, "theme_colour", "six hex digits"),
    ({"theme_colour": "#ffffff; } body { display: none"}, "theme_colour", "at most 7"),
    ({"name": "   "}, "name", "required"),
    ({"contact_phone": "call me"}, "contact_phone", "Enter a phone number"),
])
def test_a_bad_profile_changes_nothing(mall, mall_client, staff_client, data, field, message):
    client = staff_client("owner")
    form = {"name": "New name", "theme_colour": "#ff5500", "contact_phone": "", **data}
    response = client.post("/console/settings/", form)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    saved = _mall(mall)
    assert (saved.name, saved.theme_colour) == ("Test Mall", "#07c160")
    assert not _audits("mall.profile_update")
    assert "--brand: #07c160" in mall_client.get("/").content.decode()


@pytest.mark.parametrize(("content", "message"), [
    (b"%PDF-1.4 not an image", "not a valid JPEG, PNG or WebP image"),
    (image_bytes(fmt="GIF"), "Upload a JPEG, PNG or WebP image"),
    (b"\xff\xd8" + b"0" * 3000, "larger than"),
])
def test_a_bad_logo_changes_nothing(mall, staff_client, settings, media_root, content,  # noqa: F811
                                    message):
    settings.UPLOAD_MAX_IMAGE_BYTES = 2048
    response = staff_client("owner").post("/console/settings/", {
        "name": "New name", "theme_colour": "#ff5500",
        "logo": SimpleUploadedFile("logo.png", content, content_type="image/png")})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["logo"])
    saved = _mall(mall)
    assert (saved.name, saved.logo.name) == ("Test Mall", "")
    assert not _audits("mall.profile_update")


def test_a_closed_mall_cannot_change_its_profile(mall, staff_client):
    Merchant.objects.filter(pk=mall.pk).update(status=MerchantStatus.CLOSED)
    response = staff_client("owner").post("/console/settings/", {
        "name": "Reborn", "theme_colour": "#ff5500"})
    assert response.status_code == 409
    assert "closed" in response.content.decode()
    assert _mall(mall).name == "Test Mall"


def test_the_profile_api(mall, mall_client, staff_client, media_root):  # noqa: F811
    client = staff_client("admin")
    body = client.get("/api/v1/console/settings/profile/").json()
    assert body["theme_colour"] == "#07c160" and body["logo_url"] is None
    changed = client.patch("/api/v1/console/settings/profile/", {"theme_colour": "#0055AA"},
                           content_type="application/json")
    assert changed.status_code == 200 and changed.json()["theme_colour"] == "#0055aa"
    assert "--brand: #0055aa" in mall_client.get("/").content.decode()
    bad = client.patch("/api/v1/console/settings/profile/", {"theme_colour": "blue"},
                       content_type="application/json")
    assert bad.status_code == 400 and "theme_colour" in bad.json()["fields"]
    logo = client.patch(
        "/api/v1/console/settings/profile/",
        data=encode_multipart(BOUNDARY, {
            "logo": SimpleUploadedFile("l.png", image_bytes(fmt="PNG", size=(50, 50)))}),
        content_type=MULTIPART_CONTENT)
    assert logo.status_code == 200 and logo.json()["logo_url"].endswith(".png")
    assert len(_audits("mall.profile_update")) == 2


# ------------------------------------------------------------------ order periods


def test_order_periods_change_with_an_audit_row(mall, staff_client):
    client = staff_client("admin")
    response = client.post("/console/settings/orders/", {
        "auto_cancel_minutes": 45, "auto_receive_days": 14, "after_sales_days": 15})
    assert response.status_code == 302
    row = OrderSettings.current()
    assert (row.auto_cancel_minutes, row.auto_receive_days, row.after_sales_days) == (45, 14, 15)
    [entry] = _audits("orders.settings_update")
    assert entry.detail == {"auto_cancel_minutes": [30, 45], "auto_receive_days": [10, 14],
                            "after_sales_days": [7, 15]}
    same = client.post("/console/settings/orders/", {
        "auto_cancel_minutes": 45, "auto_receive_days": 14, "after_sales_days": 15})
    assert same.status_code == 302 and len(_audits("orders.settings_update")) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("auto_cancel_minutes", -5, "from 5 to 1440"),
    ("auto_receive_days", 0, "from 1 to 60"),
    ("after_sales_days", 3, "from 7 to 90"),
    ("after_sales_days", "seven", "Enter a whole number"),
])
def test_bad_periods_change_nothing(mall, staff_client, field, value, message):
    data = {"auto_cancel_minutes": 45, "auto_receive_days": 14, "after_sales_days": 15,
            field: value}
    response = staff_client("owner").post("/console/settings/orders/", data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    row = OrderSettings.current()
    assert (row.auto_cancel_minutes, row.auto_receive_days, row.after_sales_days) == (30, 10, 7)
    assert not _audits("orders.settings_update")


def test_the_order_periods_api(mall, staff_client):
    client = staff_client("admin")
    assert client.get("/api/v1/console/settings/orders/").json() == {
        "auto_cancel_minutes": 30, "auto_receive_days": 10, "after_sales_days": 7}
    bad = client.put("/api/v1/console/settings/orders/", {
        "auto_cancel_minutes": 30, "auto_receive_days": -1, "after_sales_days": 7},
        content_type="application/json")
    assert bad.status_code == 400 and "auto_receive_days" in bad.json()["fields"]
    good = client.put("/api/v1/console/settings/orders/", {
        "auto_cancel_minutes": 20, "auto_receive_days": 7, "after_sales_days": 10},
        content_type="application/json")
    assert good.status_code == 200 and good.json()["auto_cancel_minutes"] == 20
    assert OrderSettings.current().after_sales_days == 10
    assert len(_audits("orders.settings_update")) == 1


# ------------------------------------------------------------------ shipping templates


def test_a_new_default_template_prices_checkout(template, staff_client):
    client = staff_client("admin")
    response = client.post("/console/settings/shipping/new/", {
        "name": "偏远加价", "default_fee": "12.50", "free_above": "0", "is_default": "on",
        "regions": "新疆 西藏 = 30\n内蒙古，青海 = 18.80"})
    assert response.status_code == 302
    new = ShippingTemplate.objects.get(name="偏远加价")
    assert new.is_default and not ShippingTemplate.objects.get(pk=template.pk).is_default
    assert shipping_fee(goods_after_discount_fen=100000, province="青海") == 1880
    assert shipping_fee(goods_after_discount_fen=100000, province="西藏") == 3000
    assert shipping_fee(goods_after_discount_fen=100000, province="广东") == 1250
    [entry] = _audits("shipping.create")
    assert entry.target == str(new.pk) and entry.detail["regions"] == [
        [["新疆", "西藏"], 3000], [["内蒙古", "青海"], 1880]]
    listing = client.get("/console/settings/shipping/").content.decode()
    assert "偏远加价" in listing and "内蒙古 青海: 18.80" in listing


def test_editing_a_template_keeps_a_before_and_after(template, staff_client):
    client = staff_client("owner")
    form = client.get(f"/console/settings/shipping/{template.pk}/").context["form"]
    assert form.initial["regions"] == "新疆 西藏 = 20.00"
    response = client.post(f"/console/settings/shipping/{template.pk}/", {
        "name": "全国包邮", "default_fee": "6", "free_above": "59", "is_default": "on",
        "regions": ""})
    assert response.status_code == 302
    assert shipping_fee(goods_after_discount_fen=1000, province="新疆") == 600
    assert shipping_fee(goods_after_discount_fen=5900, province="新疆") == 0
    [entry] = _audits("shipping.update")
    assert entry.detail["before"]["default_fee_fen"] == 800
    assert entry.detail["after"]["regions"] == []


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"default_fee": "-1"}, "default_fee", "from 0 to"),
    ({"regions": "新疆 twenty"}, "regions", "Line 1"),
    ({"regions": "新疆 = 5\n新疆 = 6"}, "regions", "新疆 already has a fee"),
    ({"name": ""}, "name", "required"),
    ({"is_default": ""}, "is_default", "stays the default"),
])
def test_a_bad_template_changes_nothing(template, staff_client, data, field, message):
    form = {"name": "全国包邮", "default_fee": "9", "free_above": "0", "is_default": "on",
            "regions": "", **data}
    response = staff_client("owner").post(f"/console/settings/shipping/{template.pk}/", form)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    template.refresh_from_db()
    assert (template.default_fee_fen, template.is_default) == (800, True)
    assert template.region_fees.count() == 1
    assert not _audits("shipping.update")


def test_an_unknown_template_is_404(mall, staff_client):
    client = staff_client("owner")
    assert client.get("/console/settings/shipping/999999/").status_code == 404
    assert client.get("/api/v1/console/settings/shipping-templates/999999/").status_code == 404


def test_the_shipping_api(template, staff_client):
    client = staff_client("admin")
    listed = client.get("/api/v1/console/settings/shipping-templates/").json()
    assert listed[0]["regions"] == [{"provinces": ["新疆", "西藏"], "fee_fen": 2000}]
    created = client.post("/api/v1/console/settings/shipping-templates/", {
        "name": "同城", "default_fee_fen": 300, "regions": [
            {"provinces": ["上海"], "fee_fen": 0}]}, content_type="application/json")
    assert created.status_code == 201 and created.json()["is_default"] is False
    new_id = created.json()["id"]
    bad = client.put(f"/api/v1/console/settings/shipping-templates/{new_id}/", {
        "name": "同城", "default_fee_fen": -300}, content_type="application/json")
    assert bad.status_code == 400 and "default_fee_fen" in bad.json()["fields"]
    made_default = client.put(f"/api/v1/console/settings/shipping-templates/{new_id}/", {
        "name": "同城", "default_fee_fen": 500, "is_default": True},
        content_type="application/json")
    assert made_default.status_code == 200 and made_default.json()["regions"] == []
    assert shipping_fee(goods_after_discount_fen=100, province="上海") == 500
    assert [e.action for e in AuditEntry.objects.filter(area="settings").order_by("id")] == [
        "shipping.create", "shipping.update"]


@pytest.mark.parametrize("count", [1, 6])
def test_the_shipping_list_costs_the_same_with_many_templates(
        mall, staff_client, count, django_assert_num_queries):
    from tests.factories.orders import ShippingRegionFeeFactory, ShippingTemplateFactory

    for number in range(count):
        made = ShippingTemplateFactory(name=f"T{number}", is_default=number == 0)
        ShippingRegionFeeFactory(template=made, provinces=["新疆"], fee_fen=100 + number)
    client = staff_client("admin")
    # host → mall (3), session, user, perms (2), templates, their region fees, the role's
    # group and the plan for the layout
    with django_assert_num_queries(11):
        response = client.get("/console/settings/shipping/")
    assert len(response.context["templates"]) == count


@pytest.mark.parametrize("url", ["/console/settings/", "/console/settings/orders/",
                                 "/console/settings/billing/"])
def test_settings_pages_have_a_fixed_cost(mall, staff_client, url, django_assert_num_queries):
    OrderSettings.current()  # a mall's first look at the periods creates their row
    client = staff_client("admin")
    # Billing: its subscription, plans, invoices and plan changes (5), and the usage of each
    # limit (8: goods, seats and invitations, the active commission plan, domains...).
    expected = {"/console/settings/": 9, "/console/settings/orders/": 10,
                "/console/settings/billing/": 22}[url]
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


# ------------------------------------------------------------------ billing and the moved pages


def test_the_billing_tab_shows_plan_status_and_trial_end(mall, staff_client):
    ends = timezone.now() + timezone.timedelta(days=9)
    Merchant.objects.filter(pk=mall.pk).update(trial_ends_at=ends)
    html = staff_client("admin").get("/console/settings/billing/").content.decode()
    assert mall.plan.name in html and "Trial" in html
    assert timezone.localtime(ends).strftime("%Y-%m-%d") in html
    body = staff_client("owner").get("/api/v1/console/settings/billing/").json()
    assert body["status"] == "trial" and body["plan_code"] == mall.plan.code


def test_unlocking_a_sign_in_is_audited(mall, staff_client, settings):
    AccessAttempt.objects.create(username="locked@example.com", ip_address="10.0.0.9",
                                 user_agent="x", failures_since_start=settings.AXES_FAILURE_LIMIT,
                                 get_data="", post_data="", http_accept="", path_info="/")
    client = staff_client("owner")
    assert "locked@example.com" in client.get("/console/sign-in-locks/").content.decode()
    response = client.post("/console/sign-in-locks/", {"kind": "username",
                                                       "value": "locked@example.com"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="locked@example.com").exists()
    [entry] = _audits("sign_in.unlock")
    assert entry.target == "locked@example.com" and entry.area == "settings"
