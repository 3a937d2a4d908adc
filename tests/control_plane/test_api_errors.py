from rest_framework import serializers

from control_plane.api_errors import api_exception_handler


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
