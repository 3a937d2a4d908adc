"""Fixtures of the catalogue tests: a throw-away media root, and clients signed in as the
mall's staff (with and without permissions), as a shopper, and as another mall's owner."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.storage import storages
from django.db import connection

from storefront.catalog import services
from storefront.web.shopper_session import SESSION_KEY
from tests.conftest import OWNER_PASSWORD, host_client
from tests.factories.catalog import CategoryFactory
from tests.factories.shoppers import ShopperFactory

User = get_user_model()


def _reset_storage_paths() -> None:
    # TenantFileSystemStorage caches the media root; MEDIA_ROOT changes per test.
    storage = storages["default"]
    for name in ("relative_media_root", "relative_media_url", "base_location", "location"):
        storage.__dict__.pop(name, None)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    _reset_storage_paths()
    yield tmp_path / "media"
    _reset_storage_paths()


@pytest.fixture
def category(mall):
    return CategoryFactory(name="女装")


@pytest.fixture
def staff_client(mall, mall_client):
    """The mall's owner (a superuser of the mall) signed in."""
    mall_client.force_login(User.objects.get(username="owner@example.com"))
    mall_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return mall_client


def _staff(mall, *, email: str, permissions: list[str]):
    user = User.objects.create_user(username=email, email=email, password=OWNER_PASSWORD,
                                    is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="catalog",
                                                         codename=codename))
    client = host_client(mall)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(user)
    return client


@pytest.fixture
def clerk_client(mall):
    """Staff who may only look at goods."""
    return _staff(mall, email="clerk@example.com",
                  permissions=["view_product", "view_category", "view_banner"])


@pytest.fixture
def shopper_client(mall):
    shopper = ShopperFactory()
    client = host_client(mall)
    session = client.session
    session[SESSION_KEY] = shopper.pk
    session.save()
    return client


@pytest.fixture
def other_mall_staff_client(mall, other_mall):
    """A client on *this* mall's host carrying the session cookie of the other mall's owner."""
    other = host_client(other_mall)
    response = other.post("/console/login/",
                          {"username": "owner@example.com", "password": OWNER_PASSWORD})
    assert response.status_code == 302
    cookie = other.cookies["sessionid"].value
    connection.set_tenant(mall)
    client = host_client(mall)
    client.cookies["sessionid"] = cookie
    return client


def make_product(category, *, title: str = "碎花连衣裙", base_price_fen: int = 9900,
                 dimensions=(), on_shelf: bool = True, **kwargs):
    product = services.product_create(
        title=title, category_id=category.pk, base_price_fen=base_price_fen,
        dimensions=[services.SpecDimensionInput(name=name, values=list(values))
                    for name, values in dimensions],
        initial_stock=kwargs.pop("initial_stock", 10), **kwargs,
    )
    if on_shelf:
        product = services.product_set_shelf(product_id=product.pk, on_shelf=True)
    return product


def catalog_state() -> dict:
    """Every catalogue row, to show that a refused request changed nothing."""
    from storefront.catalog.models import (
        Banner,
        CatalogEvent,
        Category,
        Product,
        ProductImage,
        Sku,
        SpecDimension,
        SpecValue,
    )

    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Category, Product, ProductImage, SpecDimension, SpecValue, Sku, Banner,
                      CatalogEvent)
    }
