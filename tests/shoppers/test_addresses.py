"""The address book: services, pages and API; one default per shopper; someone else's
address is a 404 and stays as it was."""

from __future__ import annotations

import pytest
from django.db import connection

from storefront.shoppers import selectors, services
from storefront.shoppers.errors import AddressInvalid, AddressLimitReached, AddressNotFound
from storefront.shoppers.models import Address
from tests.conftest import host_client
from tests.factories.shoppers import AddressFactory, ShopperFactory

from .conftest import sign_in

pytestmark = pytest.mark.django_db

VALID = {
    "recipient": "李四", "phone": "13800001111", "province": "浙江", "city": "杭州",
    "district": "西湖区", "detail": "文三路 100 号 3 单元 201",
}


def defaults_of(shopper) -> list[int]:
    defaults = Address.objects.filter(shopper=shopper, is_default=True)
    return list(defaults.values_list("pk", flat=True))


def snapshot(address) -> dict:
    address.refresh_from_db()
    return {**address.snapshot(), "is_default": address.is_default}


# Services ----------------------------------------------------------------------------------


def test_first_address_is_the_default_and_a_new_default_replaces_it(mall, shopper):
    first = services.address_create(shopper=shopper, **VALID)
    second = services.address_create(shopper=shopper, **{**VALID, "recipient": "王五"})
    assert first.is_default and not second.is_default
    assert defaults_of(shopper) == [first.pk]

    third = services.address_create(shopper=shopper, **VALID, is_default=True)

    assert defaults_of(shopper) == [third.pk]
    assert [a.pk for a in selectors.address_list(shopper=shopper)] == [
        third.pk, second.pk, first.pk
    ]


def test_set_default_switches_in_one_step(mall, shopper):
    first = services.address_create(shopper=shopper, **VALID)
    second = services.address_create(shopper=shopper, **VALID)

    services.address_set_default(shopper=shopper, address_id=second.pk)
    assert defaults_of(shopper) == [second.pk]
    services.address_set_default(shopper=shopper, address_id=second.pk)  # idempotent
    assert defaults_of(shopper) == [second.pk]
    services.address_set_default(shopper=shopper, address_id=first.pk)
    assert defaults_of(shopper) == [first.pk]


def test_each_shopper_has_their_own_default(mall, shopper):
    other = ShopperFactory()
    mine = services.address_create(shopper=shopper, **VALID)
    theirs = services.address_create(shopper=other, **VALID)
    assert defaults_of(shopper) == [mine.pk] and defaults_of(other) == [theirs.pk]


def test_invalid_fields_are_named(mall, shopper):
    with pytest.raises(AddressInvalid) as excinfo:
        services.address_create(
            shopper=shopper, recipient="  ", phone="12345", province="浙" * 21, city="",
            detail="路", district="",
        )
    fields = excinfo.value.fields
    assert set(fields) == {"recipient", "phone", "province", "city", "detail"}
    assert fields["recipient"] == ["Enter the recipient's name."]
    assert fields["province"] == ["Use at most 20 characters."]
    assert fields["detail"] == ["Use at least 4 characters."]
    assert "mobile number" in fields["phone"][0]
    assert not Address.objects.exists()


def test_contact_phones_are_normalised(mall, shopper):
    mobile = services.address_create(shopper=shopper, **{**VALID, "phone": "+86 138 0000 1111"})
    landline = services.address_create(shopper=shopper, **{**VALID, "phone": "0571-88886666"})
    assert mobile.phone == "13800001111"
    assert landline.phone == "0571-88886666"


def test_update_is_partial_and_validated(mall, shopper):
    address = services.address_create(shopper=shopper, **VALID)

    services.address_update(shopper=shopper, address_id=address.pk, data={"city": "宁波"})
    assert snapshot(address) == {**VALID, "city": "宁波", "is_default": True}

    with pytest.raises(AddressInvalid) as excinfo:
        services.address_update(shopper=shopper, address_id=address.pk,
                                data={"recipient": "", "city": "温州"})
    assert list(excinfo.value.fields) == ["recipient"]
    assert snapshot(address)["city"] == "宁波"  # nothing half-done

    with pytest.raises(AddressInvalid):
        services.address_update(shopper=shopper, address_id=address.pk, data={"owner": 1})


def test_deleting_the_default_promotes_the_newest(mall, shopper):
    first = services.address_create(shopper=shopper, **VALID)
    second = services.address_create(shopper=shopper, **VALID)
    third = services.address_create(shopper=shopper, **VALID)

    services.address_delete(shopper=shopper, address_id=first.pk)

    assert defaults_of(shopper) == [third.pk]
    services.address_delete(shopper=shopper, address_id=second.pk)
    assert defaults_of(shopper) == [third.pk]


def test_the_address_book_has_a_limit(mall, shopper):
    for _ in range(services.MAX_ADDRESSES):
        services.address_create(shopper=shopper, **VALID)
    with pytest.raises(AddressLimitReached) as excinfo:
        services.address_create(shopper=shopper, **VALID)
    assert excinfo.value.status == 409
    assert Address.objects.filter(shopper=shopper).count() == services.MAX_ADDRESSES


@pytest.mark.parametrize("address_id", [999999, "abc", None, -1, 2**70, True])
def test_missing_ids_are_not_found(mall, shopper, address_id):
    with pytest.raises(AddressNotFound):
        selectors.address_get_for_shopper(shopper=shopper, address_id=address_id)


def test_someone_elses_address_is_not_found_and_untouched(mall, shopper):
    theirs = AddressFactory(shopper=ShopperFactory(), is_default=False)
    before = snapshot(theirs)
    operations = [
        lambda: selectors.address_get_for_shopper(shopper=shopper, address_id=theirs.pk),
        lambda: services.address_update(shopper=shopper, address_id=theirs.pk,
                                        data={"city": "上海"}),
        lambda: services.address_set_default(shopper=shopper, address_id=theirs.pk),
        lambda: services.address_delete(shopper=shopper, address_id=theirs.pk),
    ]
    for operation in operations:
        with pytest.raises(AddressNotFound) as excinfo:
            operation()
        assert excinfo.value.status == 404 and excinfo.value.code == "address_not_found"
    assert snapshot(theirs) == before


# Pages ------------------------------------------------------------------------------------


def test_address_pages_create_edit_default_delete(mall, shopper, shopper_client):
    assert "No addresses yet." in shopper_client.get("/me/addresses/").content.decode()
    assert shopper_client.get("/me/addresses/new/").status_code == 200

    response = shopper_client.post("/me/addresses/new/", VALID)
    assert response.status_code == 302 and response["Location"] == "/me/addresses/"
    first = Address.objects.get(shopper=shopper)
    second_response = shopper_client.post(
        "/me/addresses/new/", {**VALID, "recipient": "王五", "is_default": "on"}
    )
    assert second_response.status_code == 302
    second = Address.objects.get(shopper=shopper, recipient="王五")
    assert defaults_of(shopper) == [second.pk]

    listing = shopper_client.get("/me/addresses/").content.decode()
    assert "李四" in listing and "王五" in listing

    edit = shopper_client.get(f"/me/addresses/{first.pk}/edit/")
    assert edit.status_code == 200 and "文三路" in edit.content.decode()
    shopper_client.post(f"/me/addresses/{first.pk}/edit/", {**VALID, "city": "宁波"})
    assert snapshot(first)["city"] == "宁波"

    shopper_client.post(f"/me/addresses/{first.pk}/default/")
    assert defaults_of(shopper) == [first.pk]

    shopper_client.post(f"/me/addresses/{first.pk}/delete/")
    assert list(Address.objects.filter(shopper=shopper)) == [second]
    assert defaults_of(shopper) == [second.pk]


def test_the_form_shows_each_problem(mall, shopper_client):
    response = shopper_client.post("/me/addresses/new/", {**VALID, "recipient": "", "phone": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the recipient&#x27;s name." in html
    assert "landline" in html
    assert "This field is required." not in html  # only the service's words
    assert not Address.objects.exists()


def test_pages_answer_404_for_someone_elses_address(mall, shopper_client):
    theirs = AddressFactory(shopper=ShopperFactory(), is_default=True)
    before = snapshot(theirs)
    assert shopper_client.get(f"/me/addresses/{theirs.pk}/edit/").status_code == 404
    assert shopper_client.post(
        f"/me/addresses/{theirs.pk}/edit/", {**VALID, "city": "上海"}
    ).status_code == 404
    assert shopper_client.post(f"/me/addresses/{theirs.pk}/default/").status_code == 404
    assert shopper_client.post(f"/me/addresses/{theirs.pk}/delete/").status_code == 404
    assert snapshot(theirs) == before
    assert shopper_client.get("/me/addresses/999999/edit/").status_code == 404


def test_address_writes_need_post(mall, shopper, shopper_client):
    address = AddressFactory(shopper=shopper)
    assert shopper_client.get(f"/me/addresses/{address.pk}/delete/").status_code == 405
    assert shopper_client.get(f"/me/addresses/{address.pk}/default/").status_code == 405
    assert Address.objects.filter(pk=address.pk).exists()


# API ------------------------------------------------------------------------------------------


def test_api_address_crud(mall, shopper, shopper_client):
    created = shopper_client.post("/api/v1/me/addresses/", VALID, content_type="application/json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["is_default"] is True and body["recipient"] == "李四"
    address_id = body["id"]

    second = shopper_client.post(
        "/api/v1/me/addresses/", {**VALID, "recipient": "王五"}, content_type="application/json"
    ).json()
    listing = shopper_client.get("/api/v1/me/addresses/").json()
    assert [entry["id"] for entry in listing] == [address_id, second["id"]]

    got = shopper_client.get(f"/api/v1/me/addresses/{address_id}/")
    assert got.status_code == 200 and got.json()["detail"] == VALID["detail"]

    patched = shopper_client.patch(
        f"/api/v1/me/addresses/{address_id}/", {"district": ""}, content_type="application/json"
    )
    assert patched.status_code == 200 and patched.json()["district"] == ""

    made_default = shopper_client.post(f"/api/v1/me/addresses/{second['id']}/default/")
    assert made_default.status_code == 200 and made_default.json()["is_default"] is True
    assert defaults_of(shopper) == [second["id"]]

    assert shopper_client.delete(f"/api/v1/me/addresses/{address_id}/").status_code == 204
    assert shopper_client.get(f"/api/v1/me/addresses/{address_id}/").status_code == 404


def test_api_validation_errors_name_fields(mall, shopper_client):
    response = shopper_client.post(
        "/api/v1/me/addresses/", {**VALID, "phone": "abc", "detail": ""},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "address_invalid"
    assert set(body["fields"]) == {"phone", "detail"}

    missing = shopper_client.post(
        "/api/v1/me/addresses/", {"recipient": "李四"}, content_type="application/json"
    )
    assert missing.status_code == 400
    assert set(missing.json()["fields"]) == {"phone", "province", "city", "detail"}


def test_api_someone_elses_address_is_404_and_unchanged(mall, shopper_client):
    theirs = AddressFactory(shopper=ShopperFactory(), is_default=False)
    before = snapshot(theirs)
    url = f"/api/v1/me/addresses/{theirs.pk}/"
    answers = [
        shopper_client.get(url),
        shopper_client.patch(url, {"city": "上海"}, content_type="application/json"),
        shopper_client.post(f"{url}default/"),
        shopper_client.delete(url),
    ]
    for answer in answers:
        assert answer.status_code == 404
        assert answer.json()["code"] == "address_not_found"
    missing = shopper_client.get("/api/v1/me/addresses/999999/").json()
    assert missing == answers[0].json()  # the same answer as for a missing one
    assert snapshot(theirs) == before


def test_api_needs_a_shopper(mall, mall_client):
    address = AddressFactory()
    for method, url in [
        ("get", "/api/v1/me/"), ("get", "/api/v1/me/addresses/"),
        ("post", "/api/v1/me/addresses/"), ("get", f"/api/v1/me/addresses/{address.pk}/"),
        ("delete", f"/api/v1/me/addresses/{address.pk}/"),
        ("post", f"/api/v1/me/addresses/{address.pk}/default/"),
    ]:
        response = getattr(mall_client, method)(url)
        assert response.status_code == 401, (method, url)
        assert response.json()["code"] == "not_authenticated"
    assert Address.objects.filter(pk=address.pk).exists()


def test_an_address_id_from_another_mall_is_not_found(mall, other_mall):
    connection.set_tenant(mall)  # making other_mall switched the connection to public
    address = AddressFactory()
    try:
        connection.set_tenant(other_mall)
        stranger = ShopperFactory()  # very likely the same shopper id as address.shopper
        client = sign_in(host_client(other_mall), stranger)
        answer = client.get(f"/api/v1/me/addresses/{address.pk}/")
        listing = client.get("/api/v1/me/addresses/")
    finally:
        connection.set_tenant(mall)
    assert answer.status_code == 404
    assert listing.json() == []
    assert Address.objects.filter(pk=address.pk).exists()


def test_new_address_returns_to_the_checkout_it_came_from(shopper_client):
    client = shopper_client
    response = client.post(
        "/me/addresses/new/?next=/checkout/%3Fsku%3D1",
        {"recipient": "李雷", "phone": "13912345678", "province": "浙江", "city": "杭州",
         "district": "西湖区", "detail": "文三路 100 号"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/checkout/?sku=1"


def test_new_address_refuses_an_open_redirect(shopper_client):
    response = shopper_client.post(
        "/me/addresses/new/?next=//evil.example/",
        {"recipient": "李雷", "phone": "13912345678", "province": "浙江", "city": "杭州",
         "district": "西湖区", "detail": "文三路 100 号"},
    )
    assert response["Location"] == "/me/addresses/"
