"""The distributor centre's pages (names in the `storefront` namespace)."""

from django.urls import path

from storefront.web import distribution_views as views

urlpatterns = [
    path("me/distribution/", views.centre, name="distribution-centre"),
    path("me/distribution/join/", views.join, name="distribution-join"),
    path("me/distribution/share/", views.share, name="distribution-share"),
    path("me/distribution/poster.png", views.poster, name="distribution-poster"),
    path("me/distribution/team/", views.team, name="distribution-team"),
    path("me/distribution/earnings/", views.earnings, name="distribution-earnings"),
    path("me/distribution/earnings/pulse/", views.earnings_pulse,
         name="distribution-earnings-pulse"),
    path("me/distribution/withdrawals/", views.withdrawals_page,
         name="distribution-withdrawals"),
]
