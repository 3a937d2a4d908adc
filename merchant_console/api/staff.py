"""The staff API of Settings → staff and the audit log (under /api/v1/console/), the same
actions and permissions as the pages (merchant_console.staff_views)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import staff_errors
from core.errors import InvalidInput
from merchant_console.api.permissions import StaffApiMixin
from merchant_console.audit import AREAS, audit_chain_verify, audit_entries
from merchant_console.dates import day_end, day_start
from merchant_console.models import AuditEntry, StaffInvitation
from merchant_console.roles import ASSIGNABLE_ROLES, staff_role
from merchant_console.staff import (
    staff_deactivate,
    staff_invitation_revoke,
    staff_invite,
    staff_role_set,
)

MANAGE = "merchant_console.manage_staff"


class StaffMemberOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField(source="first_name")
    role = serializers.SerializerMethodField()
    is_active = serializers.BooleanField()
    last_login = serializers.DateTimeField(allow_null=True)

    def get_role(self, user) -> str | None:
        return staff_role(user) if user.is_active else None


class InvitationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    expires_at = serializers.DateTimeField()


class StaffListOutput(serializers.Serializer):
    members = StaffMemberOutput(many=True)
    invitations = InvitationOutput(many=True)


class InviteInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    role = serializers.ChoiceField(choices=ASSIGNABLE_ROLES)


class RoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=ASSIGNABLE_ROLES)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise InvalidInput(fields={k: [str(m) for m in v] for k, v in serializer.errors.items()})
    return serializer.validated_data


class StaffListApi(StaffApiMixin, APIView):
    required_permissions = {"GET": MANAGE}

    @extend_schema(operation_id="console_staff_list", responses={200: StaffListOutput,
                                                                  **staff_errors(403)})
    def get(self, request):
        members = get_user_model().objects.filter(is_staff=True).prefetch_related("groups")
        invitations = StaffInvitation.objects.filter(
            accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
        )
        return Response(StaffListOutput(
            {"members": members.order_by("email"), "invitations": invitations}
        ).data)


class StaffInviteApi(StaffApiMixin, APIView):
    required_permissions = {"POST": MANAGE}

    @extend_schema(operation_id="console_staff_invite", request=InviteInput,
                   responses={201: InvitationOutput, **staff_errors(400, 403, 409)})
    def post(self, request):
        data = _valid(InviteInput, request.data)
        invitation, _link = staff_invite(
            by=request.user, email=data["email"], role=data["role"], merchant=request.tenant,
            accept_url_base=request.build_absolute_uri(reverse("console:invitations")),
        )
        return Response(InvitationOutput(invitation).data, status=201)


class StaffInvitationRevokeApi(StaffApiMixin, APIView):
    required_permissions = {"DELETE": MANAGE}

    @extend_schema(operation_id="console_staff_invitation_revoke",
                   responses={204: None, **staff_errors(403, 404)})
    def delete(self, request, invitation_id: int):
        staff_invitation_revoke(by=request.user, invitation_id=invitation_id)
        return Response(status=204)


class StaffRoleApi(StaffApiMixin, APIView):
    required_permissions = {"POST": MANAGE}

    @extend_schema(operation_id="console_staff_role", request=RoleInput,
                   responses={200: StaffMemberOutput, **staff_errors(400, 403, 404, 409)})
    def post(self, request, user_id: int):
        data = _valid(RoleInput, request.data)
        return Response(StaffMemberOutput(
            staff_role_set(by=request.user, user_id=user_id, role=data["role"])
        ).data)


class StaffRemoveApi(StaffApiMixin, APIView):
    required_permissions = {"POST": MANAGE}

    @extend_schema(operation_id="console_staff_remove",
                   responses={200: StaffMemberOutput, **staff_errors(403, 404, 409)})
    def post(self, request, user_id: int):
        return Response(StaffMemberOutput(
            staff_deactivate(by=request.user, user_id=user_id)
        ).data)


class AuditEntryOutput(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor_id", "actor_email", "area", "action", "target", "detail",
                  "prev_hash", "hash"]


class AuditPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class AuditFilterInput(serializers.Serializer):
    person = serializers.CharField(required=False, allow_blank=True, max_length=254)
    area = serializers.ChoiceField(choices=AREAS, required=False, allow_blank=True)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)


class AuditListApi(StaffApiMixin, GenericAPIView):
    """Filters: `person` (part of an e-mail), `area`, `since` / `until` (YYYY-MM-DD)."""

    required_permissions = {"GET": "merchant_console.view_audit"}
    pagination_class = AuditPagination
    serializer_class = AuditEntryOutput

    @extend_schema(operation_id="console_audit_list", responses={200: AuditEntryOutput(many=True),
                                                                  **staff_errors(400, 403)})
    def get(self, request):
        filters = _valid(AuditFilterInput, request.query_params)
        entries = audit_entries(
            person=filters.get("person", ""), area=filters.get("area", ""),
            since=day_start(filters.get("since")), until=day_end(filters.get("until")),
        )
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(AuditEntryOutput(page, many=True).data)


class AuditVerifyOutput(serializers.Serializer):
    checked = serializers.IntegerField()
    intact = serializers.BooleanField()
    broken_at = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class AuditVerifyApi(StaffApiMixin, APIView):
    required_permissions = {"GET": "merchant_console.view_audit"}

    @extend_schema(operation_id="console_audit_verify",
                   responses={200: AuditVerifyOutput, **staff_errors(403)})
    def get(self, request):
        checked, broken = audit_chain_verify()
        return Response(AuditVerifyOutput({
            "checked": checked, "intact": broken is None,
            "broken_at": broken.entry_id if broken else None,
            "reason": broken.reason if broken else "",
        }).data)

