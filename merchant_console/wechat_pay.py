"""Connecting the mall to WeChat Pay: the owner enters the sub-merchant number and app ids;
the platform verifies them with WeChat before saving, and a platform admin approves the
claim before shoppers can pay. The page and the API show the review status and, for a
rejected claim, the admin's reason. The app secret is write-only."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import error_responses, staff_errors
from core.actors import Actor
from core.errors import DomainError
from merchant_console.access import staff_page
from merchant_console.api.permissions import StaffApiMixin
from merchant_console.audit import audit_record
from tenants.models import BindingStatus
from tenants.selectors import merchant_current
from tenants.wechat_binding import binding_of_merchant, binding_save


class WeChatPayForm(forms.Form):
    sub_mchid = forms.CharField(label=_("WeChat Pay sub-merchant number"), max_length=16)
    sub_appid = forms.CharField(label=_("Official account app id"), max_length=32, required=False)
    miniprogram_appid = forms.CharField(label=_("Mini-program app id"), max_length=32,
                                        required=False)
    app_secret = forms.CharField(
        label=_("Official account app secret"), required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the stored secret. It is never shown again."),
    )


@staff_page(owner_only=True)  # payment settings are the owner's
def wechat_pay_page(request):
    merchant = merchant_current()
    binding = binding_of_merchant(merchant)
    initial = {}
    if binding:
        initial = {"sub_mchid": binding.sub_mchid, "sub_appid": binding.sub_appid,
                   "miniprogram_appid": binding.miniprogram_appid}
    form = WeChatPayForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                saved = binding_save(
                    merchant=merchant, actor=Actor.staff(request.user.pk),
                    sub_mchid=data["sub_mchid"], sub_appid=data["sub_appid"],
                    miniprogram_appid=data["miniprogram_appid"],
                    app_secret=data["app_secret"] or None,
                )
                _audit(request, saved, secret_changed=bool(data["app_secret"]))
        except DomainError as exc:
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            if not exc.fields:
                form.add_error(None, exc.message)
            status = exc.status
        else:
            if saved.status == BindingStatus.APPROVED:
                messages.success(request, _("WeChat Pay is connected."))
            else:
                messages.success(request, _("WeChat confirmed the account. Shoppers can pay "
                                            "once a platform admin approves it."))
            return redirect("console:wechat-pay")
    return render(request, "console/wechat_pay.html",
                  {"form": form, "binding": binding}, status=status)


def _audit(request, binding, *, secret_changed: bool) -> None:
    """The staff audit row of a saved binding (never the secret, only that it changed)."""
    audit_record(actor=request.user, area="settings", action="wechat_pay.bind",
                 target=binding.sub_mchid,
                 detail={"sub_mchid": binding.sub_mchid, "sub_appid": binding.sub_appid,
                         "miniprogram_appid": binding.miniprogram_appid,
                         "status": binding.status, "app_secret_changed": secret_changed})


class BindingInput(serializers.Serializer):
    sub_mchid = serializers.CharField(max_length=16)
    sub_appid = serializers.CharField(max_length=32, required=False, allow_blank=True)
    miniprogram_appid = serializers.CharField(max_length=32, required=False, allow_blank=True)
    app_secret = serializers.CharField(required=False, allow_blank=True, write_only=True)


class BindingOutput(serializers.Serializer):
    sub_mchid = serializers.CharField()
    sub_appid = serializers.CharField()
    miniprogram_appid = serializers.CharField()
    status = serializers.ChoiceField(choices=BindingStatus.choices,
                                     help_text="pending until a platform admin approves it")
    status_reason = serializers.CharField(allow_null=True,
                                          help_text="why: a rejection's reason, say")
    status_changed_at = serializers.DateTimeField(allow_null=True)
    has_app_secret = serializers.BooleanField()
    profit_sharing_max_ratio_bp = serializers.IntegerField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)


class WeChatPayBindingApi(StaffApiMixin, APIView):
    """The mall's WeChat Pay binding (owner only). The app secret is never returned. A new
    or changed sub-merchant number is pending until a platform admin approves it."""

    owner_only = True

    @extend_schema(responses={200: BindingOutput, **error_responses(
        {403: "not the mall's owner", 404: "not connected yet"})})
    def get(self, request):
        binding = binding_of_merchant(merchant_current())
        if binding is None:
            raise exceptions.NotFound("Not connected yet.")
        return Response(BindingOutput(binding).data)

    @extend_schema(
        request=BindingInput,
        responses={200: BindingOutput, **staff_errors(400),
                   **error_responses({403: "not the mall's owner",
                                      422: "WeChat Pay did not confirm the account",
                                      502: "WeChat Pay answered with an error",
                                      503: "WeChat Pay is not reachable or not set up"})},
    )
    def put(self, request):
        data = BindingInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        merchant = merchant_current()
        with transaction.atomic():
            saved = binding_save(
                merchant=merchant, actor=Actor.staff(request.user.pk),
                sub_mchid=values["sub_mchid"], sub_appid=values.get("sub_appid", ""),
                miniprogram_appid=values.get("miniprogram_appid", ""),
                app_secret=values.get("app_secret") or None,
            )
            _audit(request, saved, secret_changed=bool(values.get("app_secret")))
        return Response(BindingOutput(binding_of_merchant(merchant)).data)
