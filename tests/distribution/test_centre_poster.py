"""Share posters: Chinese glyphs (not tofu), the picture, and the QR code of the sharer's
link, through the page and the API."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageChops, ImageFont

from storefront.catalog.models import ProductImage
from storefront.distribution import posters, services
from tests.conftest import host_client
from tests.distribution.conftest import make_chain, make_shopper
from tests.factories.catalog import ProductFactory, SkuFactory
from tests.shoppers.conftest import sign_in

NOTDEF = "\ue000"  # a private-use code point: no font has a glyph for it, so .notdef


def glyph(font: ImageFont.FreeTypeFont, text: str) -> tuple[tuple, bytes]:
    mask = font.getmask(text)
    return mask.size, bytes(mask)


def test_the_poster_font_is_noto_sans_cjk_sc_and_draws_chinese_not_tofu():
    font = posters.cjk_font(40)
    assert font.getname() == ("Noto Sans CJK SC", "Regular")
    tofu = glyph(font, NOTDEF * 2)
    assert glyph(font, "佣金") != tofu
    assert glyph(font, "佣") != glyph(font, "金")  # two real, different glyphs
    # The check catches tofu: Pillow's own font has no CJK, and draws both as .notdef.
    plain = ImageFont.load_default(40)
    assert glyph(plain, "佣金") == glyph(plain, NOTDEF * 2)


def _title_area(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png)).convert("L")
    top = 96 + posters.MARGIN // 2 + posters.PICTURE_HEIGHT + 24
    return image.crop((posters.MARGIN, top, posters.WIDTH - posters.MARGIN, top + 46))


def test_a_poster_draws_its_chinese_title_with_real_glyphs():
    def render(title: str) -> bytes:
        subject = posters.PosterSubject(title=title, price_fen=990, picture=None, product_id=1)
        return posters.poster_render(subject=subject, mall_name="演示商城",
                                     link_url="http://x.localhost/?ref=a", nickname="张*明")

    chinese, tofu = _title_area(render("佣金佣金")), _title_area(render(NOTDEF * 4))
    assert ImageChops.difference(chinese, tofu).getbbox() is not None
    assert chinese.getbbox() is not None  # ink, not a blank line


@pytest.fixture
def sharer(mall, rules):
    (distributor,) = make_chain(1)
    distributor.shopper.nickname = "小红"
    distributor.shopper.save()
    return distributor


@pytest.fixture
def pictured_product(mall, settings, tmp_path):
    """A product for sale whose cover is a real (all red) JPEG in storage."""
    settings.MEDIA_ROOT = tmp_path
    product = ProductFactory(title="法式碎花连衣裙", min_price_fen=29900)
    SkuFactory(product=product, price_fen=29900)
    buffer = io.BytesIO()
    Image.new("RGB", (800, 800), (220, 20, 20)).save(buffer, format="JPEG")
    cover = ProductImage.objects.create(
        product=product, image=SimpleUploadedFile("red.jpg", buffer.getvalue()),
        thumbnail=SimpleUploadedFile("red-thumb.jpg", buffer.getvalue()))
    product.cover = cover
    product.save(update_fields=["cover"])
    return product


def _png(response) -> Image.Image:
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(response.content)).convert("RGB")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/me/distribution/poster.png", "/api/v1/distribution/poster/"])
def test_a_product_poster_has_its_picture_and_the_sharers_qr_code(mall, sharer,
                                                                  pictured_product, url):
    client = sign_in(host_client(mall), sharer.shopper)
    poster = _png(client.get(f"{url}?product={pictured_product.pk}"))

    assert poster.size == (posters.WIDTH, posters.HEIGHT)
    red, green, blue = poster.getpixel((posters.WIDTH // 2, 96 + 20 + posters.PICTURE_HEIGHT // 2))
    assert red > 180 and green < 80 and blue < 80
    host = mall.primary_host.split(":")[0]
    link = (f"http://{host}/products/{pictured_product.pk}/"
            f"?ref={sharer.shopper.share_code}&invite={sharer.invite_code}")
    left = posters.WIDTH - posters.MARGIN - posters.QR_SIZE
    top = posters.HEIGHT - posters.QR_SIZE - posters.MARGIN
    drawn = poster.crop((left, top, left + posters.QR_SIZE, top + posters.QR_SIZE))
    assert ImageChops.difference(drawn, posters._qr(link)).getbbox() is None


@pytest.mark.django_db
def test_the_shop_poster_needs_no_product(mall, sharer):
    client = sign_in(host_client(mall), sharer.shopper)
    poster = _png(client.get("/me/distribution/poster.png"))
    # The shop's block is the brand green.
    assert poster.getpixel((posters.MARGIN + 10, 96 + 40)) == posters.BRAND


@pytest.mark.django_db
def test_who_may_have_a_poster(mall, sharer, pictured_product):
    client = sign_in(host_client(mall), sharer.shopper)
    assert client.get("/me/distribution/poster.png?product=abc").status_code == 404
    assert client.get("/me/distribution/poster.png?product=999999").status_code == 404
    api = client.get("/api/v1/distribution/poster/?product=abc")
    assert api.status_code == 400 and api.json()["fields"]["product"]
    missing = client.get("/api/v1/distribution/poster/?product=999999")
    assert missing.status_code == 404 and missing.json()["code"] == "distribution_not_found"
    pictured_product.is_on_shelf = False
    pictured_product.save(update_fields=["is_on_shelf"])
    assert client.get(f"/me/distribution/poster.png?product={pictured_product.pk}"
                      ).status_code == 404

    services.distributor_freeze(distributor_id=sharer.pk, staff_id=1, reason="check")
    frozen = client.get("/api/v1/distribution/poster/")
    assert frozen.status_code == 409 and frozen.json()["code"] == "distributor_not_active"
    stranger = sign_in(host_client(mall), make_shopper())
    assert stranger.get("/api/v1/distribution/poster/").status_code == 404
    assert host_client(mall).get("/api/v1/distribution/poster/").status_code == 401
