"""The shopper API under /api/v1/ on a mall's host."""

from django.urls import include, path

urlpatterns = [
    path("", include("storefront.api.catalog_urls")),
    path("", include("storefront.api.account_urls")),
    path("", include("storefront.api.orders_urls")),
    path("", include("storefront.api.payments_urls")),
    path("", include("storefront.api.distribution_urls")),
    path("", include("storefront.api.support_urls")),
]
