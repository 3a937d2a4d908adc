"""The distributor centre's shopper API under /api/v1/distribution/."""

from django.urls import path

from storefront.api import distribution as api

urlpatterns = [
    path("distribution/me/", api.DistributionMeApi.as_view(), name="api-distribution-me"),
    path("distribution/join/", api.DistributionJoinApi.as_view(),
         name="api-distribution-join"),
    path("distribution/team/", api.DistributionTeamApi.as_view(),
         name="api-distribution-team"),
    path("distribution/team/members/", api.DistributionTeamMembersApi.as_view(),
         name="api-distribution-team-members"),
    path("distribution/commissions/", api.DistributionCommissionsApi.as_view(),
         name="api-distribution-commissions"),
    path("distribution/withdrawals/", api.DistributionWithdrawalsApi.as_view(),
         name="api-distribution-withdrawals"),
    path("distribution/poster/", api.DistributionPosterApi.as_view(),
         name="api-distribution-poster"),
    path("distribution/calculator/", api.DistributionCalculatorApi.as_view(),
         name="api-distribution-calculator"),
]
