"""The shopper's account API under /api/v1/ on a mall's host."""

from django.urls import path

from storefront.api import account

urlpatterns = [
    path("auth/code/", account.LoginCodeRequestApi.as_view(), name="shopper-login-code"),
    path("auth/login/", account.LoginApi.as_view(), name="shopper-login"),
    path("auth/logout/", account.LogoutApi.as_view(), name="shopper-logout"),
    path("me/", account.MeApi.as_view(), name="shopper-me"),
    path("me/addresses/", account.AddressListApi.as_view(), name="shopper-addresses"),
    path(
        "me/addresses/<int:address_id>/", account.AddressDetailApi.as_view(),
        name="shopper-address",
    ),
    path(
        "me/addresses/<int:address_id>/default/", account.AddressDefaultApi.as_view(),
        name="shopper-address-default",
    ),
]
