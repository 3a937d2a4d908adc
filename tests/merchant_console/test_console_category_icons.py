"""Category icons from the console's category forms to the mall's categories grid: staff
upload one with a new category, replace it, remove it (back to the name's initial), each
audited; a file that is not a picture is refused and nothing changes."""

import re

import pytest

from merchant_console.models import AuditEntry
from storefront.catalog.models import Category
from tests.catalog.conftest import media_root  # noqa: F401
from tests.conftest import host_client
from tests.factories.catalog import image_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def _grid_cell(mall, category) -> str:
    html = host_client(mall).get("/categories/").content.decode()
    cell = html.split(f'<a class="category-cell" href="/categories/{category.pk}/">')[1]
    return cell.split("</a>")[0]


def test_staff_upload_replace_and_remove_a_category_icon(mall, staff_client):
    client = staff_client("operations")

    response = client.post("/console/goods/categories/", {
        "name": "茶具", "sort_weight": "0", "is_active": "on",
        "icon": image_upload("icon.png", fmt="PNG", size=(300, 300)),
    })
    assert response.status_code == 302
    category = Category.objects.get(name="茶具")
    first = category.icon.name
    assert first.startswith("categories/")
    assert re.search(r'<img src="/media/[^"]*' + re.escape(first) + '"', _grid_cell(mall, category))
    assert first in client.get("/console/goods/categories/").content.decode()

    client.post(f"/console/goods/categories/{category.pk}/", {
        "name": "茶具", "sort_weight": "0", "is_active": "on",
        "icon": image_upload("new.webp", fmt="WEBP", size=(300, 300), color=(0, 90, 200)),
    })
    category.refresh_from_db()
    assert category.icon.name not in ("", first)
    edit_page = client.get(f"/console/goods/categories/{category.pk}/").content.decode()
    assert 'id="icon-clear"' in edit_page

    client.post(f"/console/goods/categories/{category.pk}/", {
        "name": "茶具", "sort_weight": "0", "is_active": "on", "icon_clear": "on",
    })
    category.refresh_from_db()
    assert category.icon.name == ""
    assert '<span class="category-initial" aria-hidden="true">茶</span>' in _grid_cell(
        mall, category)
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "category.create", "category.update", "category.update"]


def test_a_file_that_is_not_a_picture_is_refused(mall, staff_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = staff_client("operations")
    category = Category.objects.create(name="茶具")

    response = client.post(f"/console/goods/categories/{category.pk}/", {
        "name": "改名", "sort_weight": "0", "is_active": "on",
        "icon": SimpleUploadedFile("icon.png", b"not a picture", content_type="image/png"),
    })

    assert response.status_code == 200
    assert re.search(r'<li class="error">[^<]+</li>', response.content.decode())
    category.refresh_from_db()
    assert (category.name, category.icon.name) == ("茶具", "")
    assert not AuditEntry.objects.exists()
