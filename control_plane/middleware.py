"""Host routing: which merchant a request is for, and whether that mall is open."""

import sentry_sdk
from django.conf import settings
from django.http import JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name

from tenants.models import Domain, Merchant, MerchantStatus


class MerchantTenantMiddleware(TenantMainMiddleware):
    """django-tenants' router, with the platform's own host as configuration (not a row)
    and a friendly page for hosts that belong to no mall."""

    def get_tenant(self, domain_model, hostname):
        if hostname == settings.PLATFORM_HOST:
            return Merchant(schema_name=get_public_schema_name(), name="platform", slug="www")
        return super().get_tenant(domain_model, hostname)

    @staticmethod
    def _accept_custom_domain(request) -> None:
        """A mall's own domain (a Domain row that is not its platform host) is served only
        while its plan includes custom_domain: then the host is accepted although it is not
        in ALLOWED_HOSTS (which names the platform's hosts); otherwise Django refuses it
        (404) and the mall answers only on its platform host. Platform hosts cost nothing."""
        raw = request.META.get("HTTP_HOST", "")
        host, _port = split_domain_port(raw)
        platform = settings.PLATFORM_HOST
        if not host or host == platform or host.endswith(f".{platform}"):
            return
        if Domain.objects.filter(domain=host, is_primary=False,
                                 tenant__plan__custom_domain=True).exists():
            request.get_host = lambda: raw

    def no_tenant_found(self, request, hostname):
        return render(request, "errors/unknown_mall.html", {"hostname": hostname}, status=404)

    def process_request(self, request):
        self._accept_custom_domain(request)
        response = super().process_request(request)
        tenant = getattr(request, "tenant", None)
        sentry_sdk.set_tag("tenant_schema", tenant.schema_name if tenant else "unknown")
        return response


# Paths a paused mall still serves: its staff sign in to settle the bill, probes keep working,
# and WeChat's payment callbacks are applied (money that moved must be recorded).
_ALWAYS_OPEN_PREFIXES = ("/console/", "/healthz", "/static/", "/api/v1/payments/wechat/")


class MallAvailabilityMiddleware:
    """A suspended mall shows shoppers a 'paused' page (503); a closed one a 'closed' page.
    Nothing is deleted, and the staff console stays reachable with a billing banner."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if (
            tenant is not None
            and tenant.schema_name != get_public_schema_name()
            and not tenant.is_open_to_shoppers
            and not request.path.startswith(_ALWAYS_OPEN_PREFIXES)
        ):
            closed = tenant.status == MerchantStatus.CLOSED
            status = 410 if closed else 503
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "mall_closed" if closed else "mall_paused",
                        "message": "This mall is closed." if closed else "This mall is paused.",
                        "fields": {},
                    },
                    status=status,
                )
            response = render(
                request, "storefront/paused.html", {"closed": closed}, status=status
            )
            if not closed:
                response["Retry-After"] = "3600"
            return response
        return self.get_response(request)
