"""The shopper's account pages (names in the `storefront` namespace)."""

from django.urls import path

from storefront.web import account_views as views

urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/wechat/", views.wechat_login, name="wechat_login"),
    path("login/wechat/callback/", views.wechat_callback, name="wechat_callback"),
    path("logout/", views.logout, name="logout"),
    path("me/", views.me, name="me"),
    path("me/consent/", views.consent_renew, name="consent"),
    path("legal/<str:kind>/", views.legal_document, name="legal"),
    path("me/addresses/", views.address_list, name="address_list"),
    path("me/addresses/new/", views.address_create, name="address_create"),
    path("me/addresses/<int:address_id>/edit/", views.address_edit, name="address_edit"),
    path("me/addresses/<int:address_id>/delete/", views.address_delete, name="address_delete"),
    path(
        "me/addresses/<int:address_id>/default/", views.address_set_default,
        name="address_set_default",
    ),
]
