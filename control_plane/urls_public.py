"""The platform host: landing, signup, platform admin, public API."""

from django.contrib import admin
from django.urls import path

from control_plane import api, views
from control_plane.stripe_webhook import stripe_webhook
from control_plane.urls_common import urlpatterns as common_urlpatterns

admin.site.site_header = "Mall platform admin"
admin.site.site_title = "Mall platform"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("admin/", admin.site.urls),
    path("billing/stripe/webhook/", stripe_webhook, name="stripe-webhook"),
    path("api/v1/merchants/", api.MerchantSignupApi.as_view(), name="api-merchant-signup"),
    *common_urlpatterns,
]
