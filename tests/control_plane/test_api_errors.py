import json

import pytest
from django.test import Client
from rest_framework import serializers

from control_plane.api_errors import api_exception_handler
from tests.conftest import host_client


def test_nested_validation_errors_are_plain_messages():
    error = serializers.ValidationError(
        {"dimensions": {1: {"values": ["Give at least one value."]}}, "name": ["Required."]}
    )
    response = api_exception_handler(error, {})
    assert response.status_code == 400
    assert response.data == {
        "code": "invalid",
        "message": "Some fields are not valid.",
        "fields": {
            "dimensions": ["1: values: Give at least one value."],
            "name": ["Required."],
        },
    }


def _documented_errors(schema: dict) -> dict[str, dict]:
    return {
        f"{method.upper()} {path} {status}": response
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    }


def test_every_documented_error_is_the_one_error_body(make_merchant):
    """Shopper, staff and platform APIs document their errors with one `Error` component
    (control_plane.api_schema), the body control_plane.api_errors renders for all."""
    mall = make_merchant().merchant
    errors = {}
    for host in ("localhost", mall.primary_host.split(":")[0]):
        answer = host_client(host).get("/api/schema/", HTTP_ACCEPT="application/json")
        schema = json.loads(answer.content)
        errors.update(_documented_errors(schema))
        components = set(schema["components"]["schemas"])
        assert {name for name in components if name.endswith("Error")} == {"Error"}, host
        assert set(schema["components"]["schemas"]["Error"]["required"]) == {
            "code", "message", "fields"}

    assert len(errors) > 100  # both hosts' APIs, not an empty document
    not_error = {
        operation: response for operation, response in errors.items()
        if response["content"]["application/json"]["schema"]
        != {"$ref": "#/components/schemas/Error"}
        or not response["description"]
    }
    assert not_error == {}
    assert "POST /api/v1/merchants/ 409" in errors
    assert "PATCH /api/v1/console/products/{product_id}/skus/{sku_id}/ 403" in errors
    assert "POST /api/v1/auth/code/ 429" in errors


# --- the framework itself answers 4xx as JSON, never 500 or an HTML page ------------------


@pytest.fixture
def shopper_api(mall):
    """A signed-in shopper whose client sends the CSRF cookie and header, as a browser does:
    the shopper API then reads the body for the CSRF check, before DRF's parsers."""
    from tests.factories.shoppers import ShopperFactory
    from tests.shoppers.conftest import sign_in

    client = Client(HTTP_HOST=mall.primary_host.split(":")[0], enforce_csrf_checks=True,
                    raise_request_exception=False, HTTP_X_CSRFTOKEN=CSRF_SECRET)
    client.cookies["csrftoken"] = CSRF_SECRET
    return sign_in(client, ShopperFactory())


CSRF_SECRET = "a" * 32


def test_options_describes_a_view_without_a_serializer_class(shopper_api):
    response = shopper_api.options("/api/v1/orders/")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Orders Api"
    assert "application/json" in body["parses"]
    assert "actions" not in body  # the fields are in the OpenAPI schema


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("multipart/form-data", b"garbage",
         "Multipart form parse error - Invalid boundary in multipart: None"),
        ("multipart/form-data; boundary=", b"garbage",
         "Multipart form parse error - Invalid boundary in multipart: "),
        ("multipart/form-data; boundary=b",
         b"".join(b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % n
                  for n in range(1001)) + b"--b--\r\n",
         "Multipart form parse error - The number of GET/POST parameters exceeded "
         "settings.DATA_UPLOAD_MAX_NUMBER_FIELDS."),
    ],
)
def test_a_malformed_multipart_body_is_a_json_400_without_a_traceback(
    shopper_api, caplog, content_type, body, message
):
    response = shopper_api.generic("POST", "/api/v1/cart/items/", body,
                                   content_type=content_type)

    assert response.status_code == 400
    assert response.json() == {"code": "parse_error", "message": message, "fields": {}}
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []
