"""The distributor centre (分销中心): the shopper's pages for joining the programme, sharing
(invite link, QR code, posters), the team, earnings and withdrawals.

Thin views: read the request, call storefront.distribution's services and selectors,
render. Amounts are integer fen everywhere; the only decimal a shopper types (yuan) is
turned into fen here, at the edge. The earnings page updates itself every 2 s from
`earnings_pulse` (static storefront/distribution.js), so a commission accrued by a payment
callback appears without a reload.
"""

from __future__ import annotations

from functools import wraps

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from storefront.catalog.selectors import product_list
from storefront.distribution import centre as centre_reads
from storefront.distribution import posters, services, withdrawals
from storefront.distribution.errors import (
    DistributionNotFound,
    DistributorNotActive,
    WithdrawalInvalid,
    WithdrawalNotAllowed,
)
from storefront.distribution.models import CommissionStatus, DistributorStatus
from storefront.notifications.jssdk import jssdk_config
from storefront.web.account_views import login_url_for, shopper_required
from storefront.web.distribution_links import invite_remembered
from storefront.web.distribution_presenters import (
    COMMISSION_STATUS_LABELS,
    DISTRIBUTOR_STATUS_LABELS,
    FIGURE_LABELS,
    WITHDRAWAL_STATUS_LABELS,
    YuanInvalid,
    commission_row,
    engine_message,
    parse_yuan,
    percent,
)

PER_PAGE = 20
POSTER_PRODUCTS = 20
CENTRE = "storefront:distribution-centre"


def _in_wechat(request: HttpRequest) -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "")


def _distributor_or_none(request: HttpRequest):
    distributor = centre_reads.distributor_for_shopper(shopper_id=request.shopper.pk)
    if distributor is None or distributor.status == DistributorStatus.CLEARED:
        return None
    return distributor


def distributor_required(view):
    """Signed in and a distributor (any status but closed); others go to the join page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        distributor = _distributor_or_none(request)
        if distributor is None:
            return redirect("storefront:distribution-join")
        return view(request, distributor, *args, **kwargs)

    return shopper_required(wrapper)


def _page(request: HttpRequest, rows) -> object:
    return Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))


def _context(request: HttpRequest, section: str, **extra) -> dict:
    return {"tab": "me", "section": section, **extra}


# ---------------------------------------------------------------- centre and joining


@require_GET
@shopper_required
def centre(request: HttpRequest) -> HttpResponse:
    """The centre's home: the join page for a shopper who is not a distributor, the
    application's status while pending, else balances and the way to each page."""
    distributor = _distributor_or_none(request)
    if distributor is None:
        return redirect("storefront:distribution-join")
    return render(request, "storefront/distribution/centre.html", _context(
        request, "centre", distributor=distributor,
        status_label=DISTRIBUTOR_STATUS_LABELS[distributor.status],
        balances=centre_reads.balances(distributor_id=distributor.pk),
        team=centre_reads.team_overview(distributor=distributor),
    ))


class JoinForm(forms.Form):
    invite_code = forms.CharField(label=gettext_lazy("Invite code"), max_length=8,
                                  required=False)
    note = forms.CharField(label=gettext_lazy("A word to the mall (optional)"),
                           max_length=200, required=False, widget=forms.Textarea(
                               attrs={"rows": 2}))


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    """Explains the programme (free, never a purchase) and joins on POST. Anyone may read
    it; joining needs a signed-in shopper. The invite code starts as the link's (`?invite=`
    or the one remembered from the link the shopper came through), else the bound
    distributor's."""
    shopper = request.shopper
    if shopper is not None and _distributor_or_none(request) is not None:
        return redirect(CENTRE)
    if request.method == "POST":
        if shopper is None:
            return redirect(login_url_for(request.get_full_path()))
        return _join_post(request)
    remembered = request.GET.get("invite") or invite_remembered(request)
    code = (centre_reads.suggested_invite_code(shopper_id=shopper.pk, remembered=remembered)
            if shopper is not None else remembered.strip().upper()[:8])
    return _render_join(request, JoinForm(initial={"invite_code": code}))


def _render_join(request: HttpRequest, form: JoinForm, *, error: str = "",
                 status: int = 200) -> HttpResponse:
    return render(request, "storefront/distribution/join.html", _context(
        request, "join", form=form, rules=centre_reads.join_rules(), error=error,
        login_url=login_url_for(request.get_full_path()),
    ), status=status)


def _join_post(request: HttpRequest) -> HttpResponse:
    form = JoinForm(request.POST)
    if not form.is_valid():
        return _render_join(request, form, error=_("Some fields are not valid."), status=400)
    code = form.cleaned_data["invite_code"].strip() or centre_reads.suggested_invite_code(
        shopper_id=request.shopper.pk, remembered=invite_remembered(request))
    try:
        distributor = services.distributor_join(
            shopper=request.shopper, invite_code=code, note=form.cleaned_data["note"])
    except DomainError as exc:
        for field, errors in exc.fields.items():
            if field in form.fields:
                for message in errors:
                    form.add_error(field, engine_message(message))
        return _render_join(request, form, error=engine_message(exc.message),
                            status=exc.status)
    if distributor.status == DistributorStatus.PENDING:
        messages.success(request, _("Application sent. The mall will review it soon."))
    else:
        messages.success(request, _("Welcome! You are now a distributor of this mall."))
    return redirect(CENTRE)


# ---------------------------------------------------------------- sharing


def _qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def _product_id(request: HttpRequest) -> int | None:
    raw = request.GET.get("product") or ""
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise Http404(_("No such product for sale."))
    return int(raw)


@require_GET
@distributor_required
def share(request: HttpRequest, distributor) -> HttpResponse:
    """The invite link, its QR code, the invite code, and posters of the shop and of the
    goods for sale."""
    if distributor.status != DistributorStatus.ACTIVE:
        messages.error(request, _("Your invite link and posters work once your distributor "
                                  "account is active."))
        return redirect(CENTRE)
    link = request.build_absolute_uri(centre_reads.share_path(distributor=distributor))
    query = (request.GET.get("q") or "")[:40]
    products = list(product_list(q=query or None)[:POSTER_PRODUCTS])
    return render(request, "storefront/distribution/share.html", _context(
        request, "share", distributor=distributor, link=link, query=query,
        qr_svg=mark_safe(_qr_svg(link)),  # noqa: S308 - SVG generated by qrcode, not input
        products=[{"product": p, "link": request.build_absolute_uri(
            centre_reads.share_path(distributor=distributor, path=f"/products/{p.pk}/"))}
            for p in products],
    ))


@require_GET
@shopper_required
def poster(request: HttpRequest) -> HttpResponse:
    """The share poster as a PNG (the shop's, or `?product=<id>`'s)."""
    product_id = _product_id(request)
    try:
        distributor = centre_reads.distributor_for_sharing(shopper_id=request.shopper.pk)
        subject = posters.poster_subject(product_id=product_id, mall_name=request.tenant.name)
    except (DistributionNotFound, DistributorNotActive) as exc:
        return HttpResponse(engine_message(exc.message), status=exc.status,
                            content_type="text/plain; charset=utf-8")
    path = f"/products/{product_id}/" if product_id else "/"
    png = posters.poster_render(
        subject=subject, mall_name=request.tenant.name,
        link_url=request.build_absolute_uri(centre_reads.share_path(distributor=distributor,
                                                                 path=path)),
        nickname=distributor.shopper.nickname or "",
    )
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


# ---------------------------------------------------------------- team


@require_GET
@distributor_required
def team(request: HttpRequest, distributor) -> HttpResponse:
    """Direct and indirect members: head counts per depth, and a page of members with a
    masked nickname and their sales (never a phone, openid or address)."""
    depth = request.GET.get("depth") or ""
    depth_value = int(depth) if depth in {"1", "2", "3"} else None
    page = _page(request, centre_reads.team_members(distributor=distributor, depth=depth_value))
    page.object_list = [
        {"member": centre_reads.team_member_view(m, leader=distributor),
         "status_label": DISTRIBUTOR_STATUS_LABELS.get(m.status, m.status)}
        for m in page.object_list]
    return render(request, "storefront/distribution/team.html", _context(
        request, "team", distributor=distributor, depth=depth_value, page=page,
        overview=centre_reads.team_overview(distributor=distributor),
    ))


# ---------------------------------------------------------------- earnings


def _calculator(request: HttpRequest, distributor) -> dict:
    """The calculator's form state and result; price in yuan as typed, quantity whole."""
    price_text = (request.GET.get("price") or "").strip()[:16]
    quantity_text = (request.GET.get("quantity") or "1").strip()[:4]
    state = {"price": price_text, "quantity": quantity_text, "error": "", "preview": None}
    if not price_text:
        return state
    try:
        price_fen = parse_yuan(price_text)
        if not quantity_text.isdigit():
            raise YuanInvalid(_("Enter a whole quantity."))
        state["preview"] = centre_reads.earnings_preview(
            distributor=distributor, price_fen=price_fen, quantity=int(quantity_text))
        state["asked"] = True
    except YuanInvalid as exc:
        state["error"] = str(exc)
    except DomainError as exc:
        state["error"] = _("Enter a price from ¥0.01 to ¥999,999.99 and a quantity from 1 "
                           "to 999.") if exc.fields else exc.message
    return state


def _status_filter(request: HttpRequest) -> str | None:
    status = request.GET.get("status") or None
    return status if status in CommissionStatus.values else None


@require_GET
@distributor_required
def earnings(request: HttpRequest, distributor) -> HttpResponse:
    """Balances, commissions by state (with what each was computed from), the progress to
    the next level, the earnings calculator and a short guide."""
    status = _status_filter(request)
    page = _page(request, centre_reads.commission_list(distributor_id=distributor.pk,
                                                    status=status))
    page.object_list = [commission_row(c) for c in page.object_list]
    progress = centre_reads.level_progress(distributor=distributor)
    counts = centre_reads.commission_counts(distributor_id=distributor.pk)
    return render(request, "storefront/distribution/earnings.html", _context(
        request, "earnings", distributor=distributor, page=page, status=status,
        balances=centre_reads.balances(distributor_id=distributor.pk),
        tabs=[{"key": key, "label": label, "count": counts[key], "active": key == status}
              for key, label in COMMISSION_STATUS_LABELS.items()],
        progress=progress,
        conditions=[{"condition": c, "label": FIGURE_LABELS.get(c.key, c.key)}
                    for c in progress.conditions],
        calculator=_calculator(request, distributor),
        pulse_url=reverse("storefront:distribution-earnings-pulse"),
        live=page.number == 1 and status is None,
        percent=percent,
    ))


@require_GET
@never_cache
def earnings_pulse(request: HttpRequest) -> JsonResponse:
    """What the earnings page refreshes every 2 s: the balances and the newest
    commissions' rows, as JSON (401/404 JSON for a stranger, never a page)."""
    if request.shopper is None:
        return JsonResponse({"code": "not_authenticated", "message": _("Sign in first."),
                             "fields": {}}, status=401)
    distributor = _distributor_or_none(request)
    if distributor is None:
        return JsonResponse({"code": "distribution_not_found",
                             "message": _("You are not a distributor of this mall."),
                             "fields": {}}, status=404)
    balances = centre_reads.balances(distributor_id=distributor.pk)
    rows = [commission_row(c) for c in
            centre_reads.commission_list(distributor_id=distributor.pk)[:PER_PAGE]]
    return JsonResponse({
        "balances": {name: getattr(balances, name) for name in (
            "pending_fen", "frozen_fen", "available_fen", "settled_fen", "withdrawable_fen")},
        "latest_id": rows[0].id if rows else None,
        "count": len(rows),
        "rows_html": render_to_string("storefront/distribution/_commission_rows.html",
                                      {"rows": rows}, request=request),
    })


# ---------------------------------------------------------------- withdrawals


class WithdrawalForm(forms.Form):
    amount = forms.CharField(label=gettext_lazy("Amount (yuan)"), max_length=16)
    real_name = forms.CharField(label=gettext_lazy("Your real name"), max_length=32,
                                required=False)

    def clean_amount(self) -> int:
        try:
            return parse_yuan(self.cleaned_data["amount"])
        except YuanInvalid as exc:
            raise forms.ValidationError(str(exc)) from None


def _jssdk(request: HttpRequest, rows) -> dict | None:
    """wx.config for the page, only inside WeChat and only when a transfer waits for the
    distributor's confirmation."""
    if not (_in_wechat(request) and any(row.confirmation for row in rows)):
        return None
    return jssdk_config(url=request.build_absolute_uri(),
                        api_list=("checkJsApi", "requestMerchantTransfer"))


def _render_withdrawals(request: HttpRequest, distributor, form: WithdrawalForm, *,
                        status: int = 200, error: str = "") -> HttpResponse:
    page = _page(request, centre_reads.withdrawal_list(distributor_id=distributor.pk))
    rows = centre_reads.withdrawal_rows(page.object_list)
    rules = centre_reads.withdrawal_rules()
    amount = getattr(form, "cleaned_data", {}).get("amount")
    return render(request, "storefront/distribution/withdrawals.html", _context(
        request, "withdrawals", distributor=distributor, form=form, page=page, rows=rows,
        error=error, rules=rules, fee_percent=percent(rules.fee_bp),
        withdrawable_fen=withdrawals.withdrawable_fen(distributor.pk),
        show_real_name=bool(form["real_name"].errors) or (
            isinstance(amount, int) and amount >= rules.real_name_from_fen),
        status_labels=WITHDRAWAL_STATUS_LABELS, in_wechat=_in_wechat(request),
        jssdk=_jssdk(request, rows), has_openid=bool(distributor.shopper.wechat_openid),
    ), status=status)


@require_http_methods(["GET", "POST"])
@distributor_required
def withdrawals_page(request: HttpRequest, distributor) -> HttpResponse:
    """The withdrawal form (yuan, turned into fen here; the real name from ¥2,000) and the
    distributor's withdrawals, with "confirm receipt in WeChat" where WeChat waits for it."""
    if request.method == "GET":
        return _render_withdrawals(request, distributor, WithdrawalForm())
    form = WithdrawalForm(request.POST)
    if not form.is_valid():
        return _render_withdrawals(request, distributor, form, status=400,
                                   error=_("Some fields are not valid."))
    try:
        withdrawal = withdrawals.withdrawal_request(
            distributor_id=distributor.pk, amount_fen=form.cleaned_data["amount"],
            real_name=form.cleaned_data["real_name"])
    except (WithdrawalInvalid, WithdrawalNotAllowed) as exc:
        for field, errors in exc.fields.items():
            name = "amount" if field == "amount_fen" else field
            for message in errors:
                form.add_error(name if name in form.fields else None, engine_message(message))
        return _render_withdrawals(request, distributor, form, status=exc.status,
                                   error=engine_message(exc.message))
    messages.success(request, str(WITHDRAWAL_STATUS_LABELS[withdrawal.status]))
    return redirect("storefront:distribution-withdrawals")
