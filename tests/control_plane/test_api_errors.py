import json

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
