"""The shopper's pages. Each area keeps its own URL module."""

from django.urls import include, path

from storefront.web import views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("storefront.web.catalog_urls")),
    path("", include("storefront.web.account_urls")),
    path("", include("storefront.web.payments_urls")),
    path("", include("storefront.web.orders_urls")),
    path("", include("storefront.web.distribution_urls")),
    path("", include("storefront.web.support_urls")),
]
