from django.conf import settings


def platform(request):
    tenant = getattr(request, "tenant", None)
    is_mall = tenant is not None and tenant.schema_name != "public"
    return {
        "platform_domain": settings.PLATFORM_DOMAIN,
        "mall": tenant if is_mall else None,
    }
