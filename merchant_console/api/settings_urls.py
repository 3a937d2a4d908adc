"""Staff API: settings (under /api/v1/console/settings/)."""

from django.urls import path

from merchant_console.api import settings as api

urlpatterns = [
    path("profile/", api.SettingsProfileApi.as_view(), name="console-api-settings-profile"),
    path("orders/", api.SettingsOrdersApi.as_view(), name="console-api-settings-orders"),
    path("shipping-templates/", api.SettingsShippingListApi.as_view(),
         name="console-api-settings-shipping"),
    path("shipping-templates/<int:template_id>/", api.SettingsShippingDetailApi.as_view(),
         name="console-api-settings-shipping-template"),
    path("billing/", api.SettingsBillingApi.as_view(), name="console-api-settings-billing"),
    path("billing/checkout/", api.SettingsBillingCheckoutApi.as_view(),
         name="console-api-settings-billing-checkout"),
    path("billing/plan-change/", api.SettingsBillingPlanChangeApi.as_view(),
         name="console-api-settings-billing-plan-change"),
    path("billing/portal/", api.SettingsBillingPortalApi.as_view(),
         name="console-api-settings-billing-portal"),
]
