"""Pictures at the size they are shown: renditions per slot in WebP and JPEG, made at upload
(or on first display for older pictures), and the shopper pages' <img> tags with width,
height, lazy loading below the fold and a fetch priority on the first picture."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from PIL import Image

from control_plane.media import serve_tenant_media
from storefront.catalog import images, services
from storefront.catalog.models import Banner
from tests.catalog.conftest import make_product
from tests.factories.catalog import image_upload

pytestmark = pytest.mark.django_db


def _picture_tags(html: str) -> list[str]:
    return re.findall(r"<picture\b.*?</picture>", html, re.S)


def _served(mall, url: str):
    """What the mall's media view (make run's; nginx in production) answers for `url`."""
    prefix = f"/media/{mall.schema_name}/"
    assert url.startswith(prefix), url
    request = RequestFactory().get(url)
    return serve_tenant_media(request, mall.schema_name, url.removeprefix(prefix))


def _fetch(mall, url: str) -> bytes:
    response = _served(mall, url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def _image(data: bytes) -> tuple[str, tuple[int, int]]:
    with Image.open(BytesIO(data)) as picture:
        return picture.format, picture.size


def test_upload_makes_each_product_slot_in_webp_and_jpeg(category, media_root, mall):
    product = make_product(category)
    image = services.product_image_add(
        product_id=product.pk, upload=image_upload("big.jpg", size=(2400, 1600)))

    root = media_root / mall.schema_name
    for slot in images.PRODUCT_SLOTS:
        for extension, kind in (("webp", "WEBP"), ("jpg", "JPEG")):
            path = root / images.rendition_name(image.image.name, slot, extension)
            assert _image(path.read_bytes()) == (kind, images.RENDITIONS[slot])
    gallery = root / images.rendition_name(image.image.name, "gallery", "webp")
    assert gallery.stat().st_size < (root / image.image.name).stat().st_size / 4


def test_product_page_serves_the_gallery_size_and_webp_to_who_takes_it(
        category, mall, mall_client):
    product = make_product(category)
    services.product_image_add(product_id=product.pk,
                               upload=image_upload("a.jpg", size=(1600, 1600)))
    services.product_image_add(product_id=product.pk,
                               upload=image_upload("b.jpg", size=(1600, 1600)))

    html = mall_client.get(f"/products/{product.pk}/").content.decode()

    gallery = _picture_tags(html)
    assert len(gallery) == 2
    first, second = gallery
    webp = re.search(r'<source type="image/webp" srcset="([^"]+)">', first).group(1)
    jpeg = re.search(r'<img src="([^"]+)"', first).group(1)
    assert _image(_fetch(mall, webp)) == ("WEBP", (750, 750))
    assert _image(_fetch(mall, jpeg)) == ("JPEG", (750, 750))
    # the first is the likely LCP: fetched at once and first; the second waits for a scroll
    assert 'width="750" height="750"' in first and 'fetchpriority="high"' in first
    assert 'loading="lazy"' not in first
    assert 'loading="lazy"' in second and "fetchpriority" not in second
    assert "immutable" in _served(mall, webp)["Cache-Control"]


def test_an_older_picture_gets_its_rendition_on_first_display(category, mall, mall_client,
                                                               media_root):
    # A banner stored before renditions existed: nothing but the original on disk.
    buffer = BytesIO()
    Image.new("RGB", (1500, 600), (200, 30, 30)).save(buffer, "PNG")
    name = services._store_checked(
        images.image_check(upload=SimpleUploadedFile("b.png", buffer.getvalue())),
        folder="banners")
    Banner.objects.create(title="Sale", image=name)
    root = media_root / mall.schema_name
    assert not (root / "renditions").exists()

    html = mall_client.get("/").content.decode()

    (banner,) = [tag for tag in _picture_tags(html) if 'alt="Sale"' in tag]
    assert 'width="750" height="375"' in banner and 'fetchpriority="high"' in banner
    webp = root / images.rendition_name(name, "banner", "webp")
    assert _image(webp.read_bytes()) == ("WEBP", (750, 375))


def test_tiles_are_lazy_after_the_first_row_and_a_missing_file_falls_back(
        category, mall, mall_client):
    products = [make_product(category, title=f"商品{i}") for i in range(4)]
    for product in products:
        services.product_image_add(product_id=product.pk,
                                   upload=image_upload("p.jpg", size=(500, 500)))
    lost = products[0].images.get()
    images.default_storage.delete(lost.image.name)
    for name in images.rendition_names(lost.image.name):
        images.default_storage.delete(name)
    images._known.clear()

    html = mall_client.get(f"/categories/{category.pk}/").content.decode()

    tiles = re.findall(r'<a class="tile".*?</a>', html, re.S)
    assert len(tiles) == 4
    imgs = [re.search(r"<img\b[^>]*>", tile).group(0) for tile in tiles]
    assert all('width="360" height="360"' in img for img in imgs)
    assert ['loading="lazy"' in img for img in imgs] == [False, False, True, True]
    # the unreadable original is linked as it is, never a 500
    lost_tile = next(tile for tile in tiles if f'data-product-id="{products[0].pk}"' in tile)
    assert "<picture" not in lost_tile and lost.image.name in lost_tile


def test_cart_rows_show_the_small_rendition(category, mall, shopper_client):
    product = make_product(category)
    services.product_image_add(product_id=product.pk,
                               upload=image_upload("p.jpg", size=(1200, 1200)))
    sku = product.skus.get()
    response = shopper_client.post("/cart/add/", {"sku_id": sku.pk, "quantity": 1})
    assert response.status_code in (200, 302)

    html = shopper_client.get("/cart/").content.decode()

    (row,) = _picture_tags(html)
    assert "/renditions/line/" in row and 'width="144" height="144"' in row
