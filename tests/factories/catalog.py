"""Catalogue rows made directly (the catalog services have their own tests), and in-memory
images for upload tests."""

import os
from io import BytesIO

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

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


# A phone photo's metadata: where it was taken, by which phone, held sideways (orientation 6:
# the stored pixels must be turned 90° to stand upright), plus an XMP packet and a comment.
GPS_LATITUDE = (31.0, 14.0, 5.0)
XMP_SECRET = b"<x:xmpmeta>home lat 31.2351</x:xmpmeta>"
COMMENT_SECRET = b"home address"


def phone_photo_bytes(*, fmt: str = "JPEG", size: tuple[int, int] = (60, 40)) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: GPS_LATITUDE,
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (121.0, 28.0, 3.0),
    }
    extra = {"comment": COMMENT_SECRET} if fmt == "JPEG" else {}
    buffer = BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, fmt, exif=exif, xmp=XMP_SECRET, **extra)
    return buffer.getvalue()


def phone_photo(name: str = "IMG_0001.jpg", fmt: str = "JPEG") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, phone_photo_bytes(fmt=fmt), content_type="image/jpeg")


def noise_png(name: str = "noise.png", *, size: tuple[int, int] = (800, 800)):
    """A valid PNG that does not compress: about 3 bytes per pixel (1.9 MB at 800×800)."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = BytesIO()
    image.save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def assert_no_metadata(content: bytes) -> Image.Image:
    """What a shopper's phone wrote besides the pixels is gone; returns the opened image."""
    assert b"Exif" not in content
    assert XMP_SECRET not in content and b"xmpmeta" not in content
    assert COMMENT_SECRET not in content
    image = Image.open(BytesIO(content))
    assert dict(image.getexif()) == {}
    assert not {"exif", "xmp", "comment"} & set(image.info)
    return image
