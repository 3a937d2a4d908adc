"""The OpenAPI side of the one error body: every API documents its errors with `ERROR`, the
`{code, message, fields}` that control_plane.api_errors renders for all of them.

    @extend_schema(responses={201: OrderOutput, **shopper_errors(400, 409)})
    @extend_schema(responses={201: MerchantOutput, **error_responses({409: "slug taken"})})
"""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer(
    "Error",
    {
        "code": serializers.CharField(help_text="Stable, machine-readable, e.g. out_of_stock."),
        "message": serializers.CharField(help_text="A sentence for people."),
        "fields": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Messages per input field; empty when the error is not about a field.",
        ),
    },
)

# What each status means on the shopper API (session cookie + CSRF) and on the staff API.
SHOPPER_ERRORS: Mapping[int, str] = {
    400: "invalid input",
    401: "not signed in",
    403: "CSRF check failed",
    404: "not found (or not yours)",
    409: "refused in the current state",
}
STAFF_ERRORS: Mapping[int, str] = {
    400: "invalid input",
    403: "not staff of this mall, or no permission",
    404: "not found",
    409: "refused in the current state",
    503: "an outside service (Stripe, WeChat) is unreachable; nothing changed, try again",
}


def error_responses(descriptions: Mapping[int, str], *statuses: int) -> dict[int, OpenApiResponse]:
    """`{status: OpenApiResponse(ERROR, description)}` for the named statuses, or for every
    status of `descriptions` when none is named. A status without a description is a
    KeyError at import time, not a silently undocumented response."""
    wanted = statuses or tuple(descriptions)
    return {
        status: OpenApiResponse(ERROR, description=descriptions[status]) for status in wanted
    }


def shopper_errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses of the shopper API, described as SHOPPER_ERRORS describes them."""
    return error_responses(SHOPPER_ERRORS, *statuses)


def staff_errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses of the staff API, described as STAFF_ERRORS describes them."""
    return error_responses(STAFF_ERRORS, *statuses)
