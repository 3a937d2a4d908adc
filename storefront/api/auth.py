"""DRF authentication and permissions for the shopper API.

Shoppers are not Django users, so DRF's SessionAuthentication would neither recognise them
nor check CSRF for them. This class does both: every unsafe request that rides on the
session cookie must carry the CSRF token, signed in or not (an anonymous cart is a session
too)."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.permissions import BasePermission

from storefront.shoppers.models import Shopper


@dataclass(frozen=True)
class ShopperPrincipal:
    shopper: Shopper
    is_authenticated: bool = True
    is_staff: bool = False

    @property
    def pk(self):
        return self.shopper.pk


class ShopperSessionAuthentication(BaseAuthentication):
    def authenticate(self, request):
        django_request = request._request
        if django_request.COOKIES.get("sessionid") is not None:
            self._enforce_csrf(django_request)
        shopper = getattr(django_request, "shopper", None)
        if shopper is None:
            return None
        return (ShopperPrincipal(shopper), None)

    def authenticate_header(self, request):
        return "Session"

    @staticmethod
    def _enforce_csrf(django_request):
        def dummy_get_response(request):  # pragma: no cover - never called
            return None

        check = CSRFCheck(dummy_get_response)
        check.process_request(django_request)
        reason = check.process_view(django_request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


class IsShopper(BasePermission):
    message = "Sign in first."

    def has_permission(self, request, view):
        return getattr(request._request, "shopper", None) is not None


class ShopperApiMixin:
    """Base for shopper API views: session auth with CSRF; anonymous allowed unless the
    view adds IsShopper."""

    authentication_classes = [ShopperSessionAuthentication]
    permission_classes: list = []


class ShopperSessionScheme(OpenApiAuthenticationExtension):
    """Documents the shopper session (cookie + CSRF header) in the OpenAPI schema."""

    target_class = "storefront.api.auth.ShopperSessionAuthentication"
    name = "shopperSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
