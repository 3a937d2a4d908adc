"""Catalogue rows made directly (the catalog services have their own tests), and in-memory
images for upload tests."""

from io import BytesIO

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from storefront.catalog.models import Banner, Category, Product, ProductImage, Sku


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"分类{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"商品 {n}")
    subtitle = ""
    is_on_shelf = True
    base_price_fen = 9900
    min_price_fen = 9900
    max_price_fen = 9900
    search_text = factory.LazyAttribute(lambda o: f"{o.title} {o.subtitle}".lower())


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    spec_key = factory.Sequence(lambda n: str(n))
    spec_label = ""
    price_fen = 9900
    market_price_fen = 12900
    stock = 100


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    image = factory.Sequence(lambda n: f"products/original-{n}.jpg")
    thumbnail = factory.Sequence(lambda n: f"products/thumbs/thumb-{n}.jpg")


class BannerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Banner

    title = factory.Sequence(lambda n: f"活动 {n}")
    image = factory.Sequence(lambda n: f"banners/banner-{n}.jpg")


def image_bytes(*, fmt: str = "JPEG", size: tuple[int, int] = (800, 600),
                color=(200, 30, 30), mode: str = "RGB") -> bytes:
    buffer = BytesIO()
    Image.new(mode, size, color).save(buffer, fmt)
    return buffer.getvalue()


def image_upload(name: str = "photo.jpg", *, fmt: str = "JPEG",
                 size: tuple[int, int] = (800, 600), mode: str = "RGB",
                 color=(200, 30, 30)) -> SimpleUploadedFile:
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}.get(
        fmt, "application/octet-stream"
    )
    return SimpleUploadedFile(
        name, image_bytes(fmt=fmt, size=size, mode=mode, color=color), content_type=content_type
    )
