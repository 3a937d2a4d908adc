"""What a phone must do before it can paint a shopper page: no script in the <head> that
blocks rendering (external scripts are defer/async or at the end of the body), and every
picture with its width and height, the ones below the fold loading lazily. Parses the
rendered pages."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from storefront.catalog import services
from tests.catalog.conftest import make_product
from tests.factories.catalog import image_upload

pytestmark = pytest.mark.django_db


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.in_head = False
        self.blocking: list[dict] = []
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "head":
            self.in_head = True
        elif tag == "body":
            self.in_head = False
        elif tag == "script" and self.in_head:
            deferred = "defer" in attrs or "async" in attrs or attrs.get("type") in (
                "module", "application/json", "application/ld+json")
            if "src" in attrs and not deferred:
                self.blocking.append(attrs)
        elif tag == "link" and self.in_head and attrs.get("rel") == "stylesheet":
            if attrs.get("media") not in ("print",):
                self.blocking.append(attrs)
        elif tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture
def shop(category, mall):
    products = [make_product(category, title=f"商品{i}") for i in range(6)]
    for product in products:
        services.product_image_add(product_id=product.pk,
                                   upload=image_upload("p.jpg", size=(600, 600)))
    return products


def test_shopper_pages_have_no_render_blocking_script_and_sized_pictures(
        shop, category, mall_client, shopper_client):
    product = shop[0]
    sku = product.skus.get()
    assert shopper_client.post("/cart/add/", {"sku_id": sku.pk, "quantity": 1}).status_code \
        in (200, 302)
    pages = {
        "/": mall_client, f"/categories/{category.pk}/": mall_client,
        "/categories/": mall_client, f"/products/{product.pk}/": mall_client,
        "/search/?q=商品": mall_client, "/cart/": shopper_client, "/me/": shopper_client,
        "/login/": mall_client,
    }
    pictures = 0
    for path, client in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        page = _parse(response.content.decode())
        assert page.blocking == [], (path, page.blocking)
        for img in page.images:
            if img.get("src", "").startswith("data:"):
                continue  # the placeholder of a product without a picture
            pictures += 1
            assert img.get("width") and img.get("height"), (path, img)
    assert pictures >= 6 + 6 + 1 + 1  # home and category tiles, the gallery, the cart row

    # below the fold: tiles after the first row load lazily
    tiles = _parse(mall_client.get(f"/categories/{category.pk}/").content.decode()).images
    assert [img.get("loading") for img in tiles] == [None, None] + ["lazy"] * 4
    assert tiles[0].get("fetchpriority") == "high"
    # the attributes give the aspect; the CSS keeps the width (height follows)
    assert all(img.get("style") == "height:auto" for img in tiles)


def test_a_blocking_script_in_the_head_is_found():
    """The check above can fail: a plain <script src> in the head is reported."""
    page = _parse('<html><head><script src="/static/x.js"></script>'
                  '<script src="/static/y.js" defer></script></head><body>'
                  '<script src="/static/z.js"></script></body></html>')
    assert page.blocking == [{"src": "/static/x.js"}]
