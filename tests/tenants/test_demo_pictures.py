"""The demo mall's pictures look like product shots (a shaded shape on a studio gradient,
drawn at seed time), not flat coloured squares; its categories have icons, and it has a
满减 rule and banners — added to an existing demo mall that lacks them."""

import pytest
from django.core.files.storage import default_storage
from PIL import Image, ImageStat

from storefront.catalog.models import Banner, Category, Product, ProductImage
from storefront.orders.models import DiscountRule
from tenants import demo
from tenants.demo_pictures import KINDS, product_picture

pytestmark = pytest.mark.django_db


def _open(name: str) -> Image.Image:
    with default_storage.open(name) as handle:
        image = Image.open(handle)
        image.load()
    return image.convert("RGB")


def _looks_like_a_shot(image: Image.Image) -> None:
    width, height = image.size
    colours = image.resize((100, 100)).getcolors(100 * 100)
    # no colour covers the picture: a flat square (or a frame on one) would
    assert max(count for count, _colour in colours) < 0.3 * 100 * 100
    # the product stands out from the background: its centre is not the corner's colour
    corner, centre = image.getpixel((4, 4)), image.getpixel((width // 2, height // 2))
    assert sum(abs(a - b) for a, b in zip(corner, centre, strict=True)) > 60
    # the background is a gradient (top and bottom rows differ) and the shape is shaded
    # (light falls off across it)
    top = ImageStat.Stat(image.crop((0, 0, width, 4))).mean
    bottom = ImageStat.Stat(image.crop((0, height - 4, width, height))).mean
    assert sum(abs(a - b) for a, b in zip(top, bottom, strict=True)) > 20
    band = image.crop((width // 4, height // 2 - 2, 3 * width // 4, height // 2 + 2))
    assert max(ImageStat.Stat(band).stddev) > 10


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_drawn_as_a_product_shot(kind):
    upload = product_picture((120, 150, 200), kind, kind)
    image = Image.open(upload).convert("RGB")
    assert image.size == (800, 800)
    _looks_like_a_shot(image)


def test_the_demo_seed_draws_shots_icons_banners_and_a_discount(mall, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    demo.demo_catalogue_seed()

    images = list(ProductImage.objects.all())
    assert len(images) == Product.objects.count() == len(demo.GOODS)
    shots = [_open(image.image.name) for image in images]
    for shot in shots:
        assert shot.size == (800, 800)
        _looks_like_a_shot(shot)
    # different goods, different pictures
    assert len({shot.resize((16, 16)).tobytes() for shot in shots}) == len(shots)
    assert all(category.icon for category in Category.objects.all())
    banners = list(Banner.objects.order_by("-sort_weight"))
    assert [banner.title for banner in banners] == [row[0] for row in demo.BANNERS]
    assert all(banner.product_id for banner in banners)
    assert _open(banners[0].image.name).size == (1200, 600)
    assert list(DiscountRule.objects.values_list("threshold_fen", "amount_off_fen")) == [
        (20000, 2000)
    ]


def test_an_existing_demo_mall_gets_a_discount_and_banners_once(mall, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    demo.demo_catalogue_seed()
    Banner.objects.all().delete()
    DiscountRule.objects.all().delete()

    demo.demo_promotions_seed()
    demo.demo_promotions_seed()  # a second make run adds nothing more

    assert Banner.objects.count() == len(demo.BANNERS)
    assert DiscountRule.objects.count() == 1
