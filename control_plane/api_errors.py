"""One DRF exception handler: every API error is JSON {code, message, fields}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import DomainError


def _messages(value) -> list[str]:
    """Nested serializer errors become plain strings ("1.values: …"), never Python reprs."""
    if isinstance(value, dict):
        return [
            f"{key}: {message}" for key, inner in value.items() for message in _messages(inner)
        ]
    if isinstance(value, list):
        return [message for item in value for message in _messages(item)]
    return [str(value)]


def _flatten_fields(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(key): _messages(value) for key, value in detail.items()}
    return {}


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(
            {"code": exc.code, "message": exc.message, "fields": exc.fields}, status=exc.status
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = {
            "code": "invalid",
            "message": "Some fields are not valid.",
            "fields": _flatten_fields(exc.detail),
        }
        if isinstance(exc.detail, list):
            body["message"] = " ".join(str(item) for item in exc.detail)
        response.data = body
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    detail = getattr(exc, "detail", "")
    code = detail.code if hasattr(detail, "code") else getattr(exc, "default_code", "error")
    response.data = {"code": str(code), "message": str(detail), "fields": {}}
    return response
