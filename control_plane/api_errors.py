"""One DRF exception handler: every API error is JSON {code, message, fields}."""

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from control_plane.uploads import UploadTooLarge
from core.errors import DomainError
from storefront.catalog.images import size_label


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "request_too_large"


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
        body = {"code": exc.code, "message": exc.message, "fields": exc.fields}
        if getattr(exc, "upgrade_url", None):  # a plan limit: where the plan is upgraded
            body["upgrade_url"] = exc.upgrade_url
        return Response(body, status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        exc = _request_too_large(exc, context)
    elif isinstance(exc, (MultiPartParserError, TooManyFieldsSent, TooManyFilesSent)):
        # Django's parser refused the body where DRF's parsers do not catch it: reading
        # request.POST for the CSRF check, say. A 400 like DRF's own parse errors.
        _mark_body_unreadable(context)
        exc = exceptions.ParseError(f"Multipart form parse error - {exc}")
    elif isinstance(exc, Http404):
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


def _request_too_large(exc: RequestDataTooBig, context) -> RequestTooLarge:
    """Django refused the body (our upload cap, or DATA_UPLOAD_MAX_MEMORY_SIZE); it is
    marked unreadable, so nothing parses it again while answering."""
    _mark_body_unreadable(context)
    if isinstance(exc, UploadTooLarge):
        return RequestTooLarge(str(exc))
    return RequestTooLarge(
        f"The form fields are larger than {size_label(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}."
    )


def _mark_body_unreadable(context) -> None:
    django_request = getattr(context.get("request"), "_request", None)
    if django_request is not None:
        django_request._mark_post_parse_error()
