import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists

from tenants.models import Domain, Merchant
from tests.conftest import OWNER_PASSWORD, ensure_default_plan, host_client, tenant_users

pytestmark = pytest.mark.django_db

API = "/api/v1/merchants/"


def signup(payload):
    return Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en").post(
        API, payload, content_type="application/json"
    )


def valid_payload(**overrides):
    payload = {
        "name": "Tea House",
        "slug": "tea-house",
        "owner_email": "Boss@Example.com",
        "password": OWNER_PASSWORD,
    }
    payload.update(overrides)
    return payload


@pytest.fixture(autouse=True)
def _plan(db):
    ensure_default_plan()


def test_signup_creates_merchant_domain_schema_and_owner():
    response = signup(valid_payload())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "tea-house"
    assert body["status"] == "trial"
    assert body["url"] == "http://tea-house.localhost:8000/"
    assert body["console_url"] == "http://tea-house.localhost:8000/console/"
    merchant = Merchant.objects.get(slug="tea-house")
    assert merchant.schema_name == "m_tea_house"
    assert Domain.objects.get(tenant=merchant).domain == "tea-house.localhost"
    assert schema_exists("m_tea_house")
    assert tenant_users("m_tea_house") == ["boss@example.com"]
    home = host_client("tea-house.localhost").get("/")
    assert home.status_code == 200
    assert "Tea House" in home.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message_part"),
    [
        ("slug", "ab", "3 to 30"),
        ("slug", "a" * 31, "30"),
        ("slug", "Tea-House", "lowercase"),
        ("slug", "tea_house", "lowercase"),
        ("slug", "-tea", "start and end"),
        ("slug", "tea-", "start and end"),
        ("slug", "tea--house", "Two hyphens"),
        ("slug", "www", "reserved"),
        ("slug", "admin", "reserved"),
        ("slug", "api", "reserved"),
        ("slug", "console", "reserved"),
        ("slug", "茶馆好茶", "lowercase"),
        ("name", "", "blank"),
        ("owner_email", "not-an-email", "valid email"),
        ("password", "123", "too short"),
        ("password", "password", "too common"),
    ],
)
def test_signup_rejects_bad_input_with_field_message(field, value, message_part):
    response = signup(valid_payload(**{field: value}))

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] in {"invalid", "signup_invalid"}
    assert field in body["fields"]
    assert message_part.lower() in " ".join(body["fields"][field]).lower()
    assert not Merchant.objects.exists()
    assert not Domain.objects.exists()


def test_signup_rejects_missing_fields():
    response = signup({})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"name", "slug", "owner_email", "password"}


def test_taken_slug_is_409_and_changes_nothing():
    assert signup(valid_payload()).status_code == 201

    response = signup(valid_payload(name="Other", owner_email="other@example.com"))

    assert response.status_code == 409
    assert response.json()["code"] == "slug_taken"
    assert "slug" in response.json()["fields"]
    assert Merchant.objects.count() == 1
    assert tenant_users("m_tea_house") == ["boss@example.com"]


def test_failure_half_way_leaves_no_schema_and_no_rows(monkeypatch):
    """The owner account is the last step: make it fail after the schema exists."""
    from tenants import services

    def explode(**kwargs):
        assert schema_exists("m_tea_house")  # the schema was really created first
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_create_owner", explode)
    with pytest.raises(RuntimeError):
        signup(valid_payload())

    connection.set_schema_to_public()
    assert not schema_exists("m_tea_house")
    assert not Merchant.objects.exists()
    assert not Domain.objects.exists()


def test_signup_uses_a_spare_schema_when_one_is_ready(monkeypatch):
    from tenants import provisioning
    from tenants.models import SpareSchema

    assert provisioning.refill_spare_pool(target=1) == 1
    spare = SpareSchema.objects.get().schema_name

    response = signup(valid_payload())

    assert response.status_code == 201
    assert not SpareSchema.objects.exists()
    assert not schema_exists(spare)
    assert schema_exists("m_tea_house")
    assert tenant_users("m_tea_house") == ["boss@example.com"]


def test_schema_is_valid_for_tenant_queries_after_clone():
    assert signup(valid_payload()).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            ["m_tea_house"],
        )
        tenant_tables = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            ["tenant_template"],
        )
        assert tenant_tables == cursor.fetchone()[0] > 0
