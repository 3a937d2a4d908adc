from django.urls import path

from merchant_console.api import staff as api

urlpatterns = [
    path("staff/", api.StaffListApi.as_view(), name="console-api-staff"),
    path("staff/invitations/", api.StaffInviteApi.as_view(), name="console-api-staff-invite"),
    path("staff/invitations/<int:invitation_id>/", api.StaffInvitationRevokeApi.as_view(),
         name="console-api-staff-invitation"),
    path("staff/<int:user_id>/role/", api.StaffRoleApi.as_view(), name="console-api-staff-role"),
    path("staff/<int:user_id>/remove/", api.StaffRemoveApi.as_view(),
         name="console-api-staff-remove"),
    path("audit/", api.AuditListApi.as_view(), name="console-api-audit"),
    path("audit/verify/", api.AuditVerifyApi.as_view(), name="console-api-audit-verify"),
]
