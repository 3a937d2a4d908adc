"""A merchant's host: the shopper's mall, the staff console, and their APIs."""

from django.conf import settings
from django.urls import include, path

from control_plane.urls_common import urlpatterns as common_urlpatterns

urlpatterns = [
    path("console/", include("merchant_console.urls")),
    path("api/v1/console/", include("merchant_console.api.urls")),
    path("api/v1/", include("storefront.api.urls")),
    path("", include("storefront.web.urls")),
    *common_urlpatterns,
]

if settings.DEBUG:
    # Development only: production serves MEDIA_ROOT/<schema>/ from object storage or nginx.
    from control_plane.media import serve_tenant_media

    urlpatterns.append(path("media/<str:schema>/<path:path>", serve_tenant_media))

