"""Staff API: finance (under /api/v1/console/finance/)."""

from django.urls import path

from merchant_console.api import exports
from merchant_console.api import finance as api

urlpatterns = [
    path("balances/", api.FinanceBalancesApi.as_view(), name="console-api-finance-balances"),
    path("accounts/<int:account_id>/legs/", api.FinanceAccountLegsApi.as_view(),
         name="console-api-finance-account-legs"),
    path("reconciliation/", api.FinanceReconciliationApi.as_view(),
         name="console-api-finance-reconciliation"),
    path("mismatches/", api.FinanceMismatchListApi.as_view(),
         name="console-api-finance-mismatches"),
    path("mismatches/<int:mismatch_id>/resolve/", api.FinanceMismatchResolveApi.as_view(),
         name="console-api-finance-mismatch-resolve"),
    path("payouts/<str:kind>/", api.FinancePayoutListApi.as_view(),
         name="console-api-finance-payouts"),
    path("exports/", exports.FinanceExportStartApi.as_view(),
         name="console-api-finance-exports"),
    path("exports/<int:job_id>/", exports.FinanceExportStatusApi.as_view(),
         name="console-api-finance-export"),
]
