"""The staff API under /api/v1/console/ on a mall's host."""

from django.urls import include, path

urlpatterns = [
    path("", include("merchant_console.api.products_urls")),
    path("", include("merchant_console.api.orders_urls")),
]
