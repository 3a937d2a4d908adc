"""A merchant's host: the shopper's mall and the staff console."""

from django.urls import include, path

from control_plane.urls_common import urlpatterns as common_urlpatterns

urlpatterns = [
    path("console/", include("merchant_console.urls")),
    path("", include("storefront.web.urls")),
    *common_urlpatterns,
]
