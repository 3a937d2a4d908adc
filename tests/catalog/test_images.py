"""Image uploads (checked with Pillow, original + 400×400 thumbnail, first is the cover),
and sanitising of the rich description."""


import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from storefront.catalog import services
from storefront.catalog.errors import ImageInvalid
from storefront.catalog.models import Product, ProductImage, Sku
from tests.catalog.conftest import catalog_state, make_product
from tests.factories.catalog import (
    assert_no_metadata,
    image_bytes,
    image_upload,
    noise_png,
    phone_photo,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/console"


def _files(root) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture
def dress(category):
    return make_product(category, dimensions=[("颜色", ["红", "蓝"])])


def test_upload_stores_the_image_and_a_square_thumbnail(staff_client, dress, mall, media_root):
    upload = image_upload("我的照片.jpg", size=(1200, 800))

    response = staff_client.post(f"{API}/products/{dress.pk}/images/", {"image": upload})

    assert response.status_code == 201, response.content
    image = ProductImage.objects.get()
    assert response.json() == {
        "id": image.pk,
        "image": f"http://{mall.primary_host.split(':')[0]}/media/{mall.schema_name}/"
                 f"{image.image.name}",
        "thumbnail": f"http://{mall.primary_host.split(':')[0]}/media/{mall.schema_name}/"
                     f"{image.thumbnail.name}",
        "position": 0,
    }
    assert image.image.name.startswith("products/") and image.image.name.endswith(".jpg")
    assert "我的照片" not in image.image.name
    assert image.thumbnail.name.startswith("products/thumbs/")
    schema_root = media_root / mall.schema_name
    with Image.open(schema_root / image.image.name) as stored:  # re-encoded, same picture
        assert (stored.format, stored.size, stored.getpixel((600, 400))[0] > 180) == (
            "JPEG", (1200, 800), True)
    with Image.open(schema_root / image.thumbnail.name) as thumb:
        assert (thumb.format, thumb.size, thumb.mode) == ("JPEG", (400, 400), "RGB")
    dress.refresh_from_db()
    assert dress.cover_id == image.pk


def test_only_the_first_image_becomes_the_cover(dress):
    first = services.product_image_add(product_id=dress.pk, upload=image_upload())
    second = services.product_image_add(
        product_id=dress.pk, upload=image_upload("b.png", fmt="PNG", mode="RGBA",
                                                 color=(0, 0, 255, 0)))

    dress.refresh_from_db()
    assert (dress.cover_id, first.position, second.position) == (first.pk, 0, 1)
    with second.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        # Transparent pixels are flattened onto white, not black.
        assert (thumb.size, thumb.getpixel((200, 200))) == ((400, 400), (255, 255, 255))

    services.product_image_delete(product_id=dress.pk, image_id=first.pk)
    dress.refresh_from_db()
    assert dress.cover_id == second.pk


def test_webp_is_accepted(dress):
    image = services.product_image_add(
        product_id=dress.pk,
        upload=SimpleUploadedFile("a.webp", image_bytes(fmt="WEBP"), content_type="image/webp"),
    )
    assert image.image.name.endswith(".webp")


@pytest.mark.parametrize(("fmt", "extension"), [("JPEG", "jpg"), ("PNG", "png"),
                                                ("WEBP", "webp")])
def test_a_phone_photo_is_stored_and_served_without_its_metadata(
    staff_client, dress, mall, media_root, fmt, extension
):
    """GPS position, phone make, XMP and comment are gone, the orientation is applied (the
    60×40 photo held sideways is stored 40×60), the format is kept."""
    response = staff_client.post(f"{API}/products/{dress.pk}/images/",
                                 {"image": phone_photo(f"IMG.{extension}", fmt=fmt)})

    assert response.status_code == 201, response.content
    image = ProductImage.objects.get()
    served = response.json()["image"].split(f"/media/{mall.schema_name}/", 1)[1]
    assert served == image.image.name and served.endswith(f".{extension}")
    stored = assert_no_metadata((media_root / mall.schema_name / served).read_bytes())
    assert (stored.format, stored.size) == (fmt, (40, 60))
    thumbnail = (media_root / mall.schema_name / image.thumbnail.name).read_bytes()
    assert assert_no_metadata(thumbnail).size == (400, 400)


def test_the_image_cap_is_a_setting_and_named_in_the_error(staff_client, dress, media_root,
                                                           settings):
    settings.UPLOAD_MAX_IMAGE_BYTES = 2**20
    before = catalog_state()

    response = staff_client.post(f"{API}/products/{dress.pk}/images/", {"image": noise_png()})

    assert response.status_code == 400
    assert response.json() == {"code": "image_invalid", "message": "The image is larger than 1 MB.",
                               "fields": {"image": ["The image is larger than 1 MB."]}}
    assert catalog_state() == before
    assert _files(media_root) == []


def test_a_request_over_the_upload_cap_is_refused_before_it_is_read(
    staff_client, dress, media_root, settings
):
    settings.UPLOAD_MAX_REQUEST_BYTES = 2**20
    before = catalog_state()

    response = staff_client.post(f"{API}/products/{dress.pk}/images/", {"image": noise_png()})

    assert response.status_code == 400
    assert response.json() == {"code": "request_too_large",
                               "message": "The upload is larger than 1 MB.", "fields": {}}
    assert catalog_state() == before
    assert _files(media_root) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.jpg", b"this is not an image at all", "The file is not a valid JPEG, PNG or "
                                                      "WebP image."),
        ("anim.gif", image_bytes(fmt="GIF"), "Upload a JPEG, PNG or WebP image."),
        ("cut.jpg", image_bytes(size=(400, 400))[:300], "The file is not a valid JPEG, PNG or "
                                                         "WebP image."),
        ("huge.jpg", b"\xff\xd8" + b"0" * (5 * 1024 * 1024), "The image is larger than 5 MB."),
    ],
)
def test_a_non_image_upload_is_refused(staff_client, dress, media_root, name, content, message):
    before = catalog_state()
    upload = SimpleUploadedFile(name, content, content_type="image/jpeg")

    response = staff_client.post(f"{API}/products/{dress.pk}/images/", {"image": upload})

    assert response.status_code == 400
    assert response.json()["code"] == "image_invalid"
    assert response.json()["fields"] == {"image": [message]}
    assert catalog_state() == before
    assert _files(media_root) == []


def test_a_missing_or_empty_file_is_refused(staff_client, dress, media_root):
    before = catalog_state()
    response = staff_client.post(f"{API}/products/{dress.pk}/images/", {})
    assert (response.status_code, response.json()["code"], response.json()["fields"]) == (
        400, "invalid", {"image": ["No file was submitted."]})
    empty = SimpleUploadedFile("empty.png", b"", content_type="image/png")
    response = staff_client.post(f"{API}/products/{dress.pk}/images/", {"image": empty})
    assert (response.status_code, response.json()["code"], response.json()["fields"]) == (
        400, "invalid", {"image": ["The submitted file is empty."]})
    with pytest.raises(ImageInvalid) as refused:
        services.product_image_add(product_id=dress.pk, upload=empty)
    assert refused.value.fields == {"image": ["The file is empty."]}
    assert catalog_state() == before
    assert _files(media_root) == []


def test_upload_to_an_unknown_product_leaves_no_files(staff_client, media_root):
    response = staff_client.post(f"{API}/products/31337/images/", {"image": image_upload()})
    assert response.status_code == 404
    assert ProductImage.objects.count() == 0
    assert _files(media_root) == []


def test_a_sku_can_use_a_gallery_image(staff_client, dress, category):
    image = services.product_image_add(product_id=dress.pk, upload=image_upload())
    sku = dress.skus.order_by("id").first()
    url = f"{API}/products/{dress.pk}/skus/{sku.pk}/"

    response = staff_client.patch(url, {"image_id": image.pk}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["image"].endswith(image.image.name)
    assert Sku.objects.get(pk=sku.pk).image.name == image.image.name

    foreign = services.product_image_add(product_id=make_product(category, title="衬衫").pk,
                                         upload=image_upload())
    response = staff_client.patch(url, {"image_id": foreign.pk}, content_type="application/json")
    assert (response.status_code, response.json()["fields"]) == (
        400, {"image_id": ["Pick one of this product's images."]})
    response = staff_client.patch(url, {"image_id": None}, content_type="application/json")
    assert (response.status_code, response.json()["image"]) == (200, None)


DIRTY = (
    '<p onclick="steal()">Hi<script>alert(1)</script><style>p{}</style>'
    '<img src="javascript:alert(1)" onerror="x()"><img src="https://cdn.example.com/a.jpg" '
    'alt="a"><img src="/relative.jpg"><a href="http://x.com" onclick="y">x</a>'
    '<iframe src="https://evil.example"></iframe><strong>b</strong></p>'
)
CLEAN = (
    '<p>Hi<img><img src="https://cdn.example.com/a.jpg" alt="a"><img>'
    '<a href="http://x.com" rel="noopener noreferrer nofollow">x</a><strong>b</strong></p>'
)


def test_description_is_sanitised_on_create_and_update(staff_client, category):
    response = staff_client.post(f"{API}/products/", {
        "title": "连衣裙", "category_id": category.pk, "base_price_fen": 100,
        "description_html": DIRTY,
    }, content_type="application/json")
    assert response.status_code == 201
    product = Product.objects.get()
    assert product.description_html == CLEAN
    assert response.json()["description_html"] == CLEAN

    services.product_update(product_id=product.pk,
                            description_html='<h2>尺码</h2><script>x</script><ul><li>S</li></ul>')
    product.refresh_from_db()
    assert product.description_html == "<h2>尺码</h2><ul><li>S</li></ul>"
