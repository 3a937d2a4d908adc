"""The shopper's account pages: sign-in (phone code, WeChat), sign-out, profile, addresses.

Thin views: read the request, call a shoppers service or selector, render. Every page
works without JavaScript (the phone sign-in is a two-step form).
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from control_plane.throttles import LoginCodeIpThrottle
from core.errors import DomainError, NotFound
from storefront.shoppers import selectors, services
from storefront.shoppers.errors import (
    AddressInvalid,
    ConsentOutdated,
    LoginCodeRateLimited,
    WeChatSignInFailed,
    WeChatSignInUnavailable,
)
from storefront.shoppers.legal import (
    KINDS,
    Consent,
    consent_check,
    consent_from_form,
    legal_document_get,
    legal_versions_current,
    shopper_consent_is_current,
    shopper_consent_renew,
)
from storefront.shoppers.senders import mask_phone
from storefront.shoppers.wechat import (
    SCOPE_BASE,
    SCOPE_USERINFO,
    SCOPES,
    oauth_state_consume,
    oauth_state_issue,
    wechat_authorize_url,
    wechat_identity_fetch,
    wechat_oauth_configured,
    wechat_oauth_offered,
)
from storefront.web.shopper_session import shopper_login, shopper_logout

DEFAULT_NEXT = "/me/"
_NO_RETURN_PREFIXES = ("/login/", "/logout/", "/me/consent/")


def safe_next(request, candidate: object, default: str = DEFAULT_NEXT) -> str:
    """Where to go after sign-in: only a relative path on this very host. Absolute URLs,
    scheme-relative `//evil.example`, backslash tricks and control characters fall back to
    `default` (no open redirect)."""
    if not isinstance(candidate, str) or not candidate.startswith("/"):
        return default
    if candidate.startswith("//") or "\\" in candidate or len(candidate) > 2000:
        return default
    if any(ord(char) < 32 or ord(char) == 127 for char in candidate):
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return default
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return default
    if candidate.startswith(_NO_RETURN_PREFIXES):
        return default
    return candidate


def login_url_for(path: str) -> str:
    return f"{reverse('storefront:login')}?{urlencode({'next': path})}"


def shopper_required(view):
    """Anonymous visitors are sent to sign in, and brought back afterwards."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if getattr(request, "shopper", None) is None:
            return HttpResponseRedirect(login_url_for(request.get_full_path()))
        return view(request, *args, **kwargs)

    return wrapper


def consent_required(view):
    """Account pages: a signed-in shopper who agreed to older texts is asked to agree to the
    current ones first (once: agreeing records the new versions)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        shopper = getattr(request, "shopper", None)
        if shopper is not None and not shopper_consent_is_current(shopper=shopper):
            return HttpResponseRedirect(
                f"{reverse('storefront:consent')}?{urlencode({'next': request.get_full_path()})}"
            )
        return view(request, *args, **kwargs)

    return wrapper


def not_found_as_404(view):
    """The access selectors' NotFound (missing or not yours) becomes the site's 404 page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None

    return wrapper


def _in_wechat(request) -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "")


def _signed_in(request, shopper, next_url: str) -> HttpResponseRedirect:
    shopper_login(request, shopper)
    rotate_token(request)  # a new CSRF token for the new identity
    return HttpResponseRedirect(next_url)


# Sign-in with phone and code ----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def login(request):
    """Step 1: the phone number and "send code"; step 2: the code and "sign in".
    Both steps carry the consent checkbox (PIPL): without it no code is sent and nobody is
    signed in. Inside WeChat there is no silent sign-in on GET for the same reason: the page
    offers "Sign in with WeChat" beside the checkbox."""
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET":
        wants_phone = request.GET.get("method") == "phone"
        if request.shopper is not None and not wants_phone:
            return HttpResponseRedirect(next_url)
        return _login_page(request, next_url=next_url, step="phone")

    action = request.POST.get("action", "send")
    phone = request.POST.get("phone", "").strip()[:40]
    if action == "verify":
        try:
            shopper = services.login_code_verify(
                phone=phone, code=request.POST.get("code", ""), current=request.shopper,
                consent=consent_from_form(request.POST),
            )
        except DomainError as exc:
            return _login_page(
                request, next_url=next_url, step="code", phone=phone, error=exc,
                status=exc.status,
            )
        return _signed_in(request, shopper, next_url)

    step_on_error = "code" if request.POST.get("step") == "code" else "phone"
    if not LoginCodeIpThrottle().allow_request(request, None):
        error = LoginCodeRateLimited(_("Too many codes were requested from your network."))
        return _login_page(
            request, next_url=next_url, step=step_on_error, phone=phone, error=error, status=429
        )
    try:
        sent = services.login_code_request(phone=phone, consent=consent_from_form(request.POST))
    except DomainError as exc:
        return _login_page(
            request, next_url=next_url, step=step_on_error, phone=phone, error=exc,
            status=exc.status,
        )
    return _login_page(request, next_url=next_url, step="code", phone=sent.phone, sent=sent)


def _login_page(
    request, *, next_url: str, step: str, phone: str = "", error: DomainError | None = None,
    sent: services.LoginCodeSent | None = None, status: int = 200,
):
    field_errors = error.fields if error is not None else {}
    # The versions the shopper was shown travel with both steps, so a text changed between
    # "send code" and "sign in" is refused; after that refusal the box starts unticked.
    posted = consent_from_form(request.POST) if request.method == "POST" else None
    if isinstance(error, ConsentOutdated):
        posted = None
    context = {
        "versions": posted or legal_versions_current(),
        "agreed": posted is not None,
        "agree_errors": field_errors.get("agree", []),
        "tab": "me",
        "step": step,
        "phone": phone,
        "next": next_url,
        "error": error,
        "phone_errors": field_errors.get("phone", []),
        "code_errors": field_errors.get("code", []),
        "general_error": error.message if error is not None and not field_errors else "",
        "sent": sent,
        "wechat_enabled": wechat_oauth_offered(in_wechat=_in_wechat(request)),
        "dev_code_in_log": settings.DEBUG
        and settings.SHOPPER_CODE_SENDER.endswith(".LogCodeSender"),
        "wechat_base_url": _wechat_start_url(SCOPE_BASE, next_url),
        "wechat_userinfo_url": _wechat_start_url(SCOPE_USERINFO, next_url),
    }
    return render(request, "storefront/account/login.html", context, status=status)


# Sign-in with WeChat ----------------------------------------------------------------------


def _wechat_start_url(scope: str, next_url: str) -> str:
    return f"{reverse('storefront:wechat_login')}?{urlencode({'scope': scope, 'next': next_url})}"


def _wechat_redirect(
    request, *, scope: str, next_url: str, consent: Consent
) -> HttpResponseRedirect:
    state = oauth_state_issue(
        session=request.session, scope=scope, next_url=next_url, consent=consent
    )
    redirect_uri = request.build_absolute_uri(reverse("storefront:wechat_callback"))
    return HttpResponseRedirect(
        wechat_authorize_url(redirect_uri=redirect_uri, scope=scope, state=state)
    )


def _wechat_error(request, error: DomainError):
    return render(
        request, "storefront/account/wechat_error.html",
        {"tab": "me", "error": error,
         "phone_login_url": f"{reverse('storefront:login')}?method=phone"},
        status=error.status,
    )


@require_http_methods(["GET", "POST"])
def wechat_login(request):
    """Start WeChat OAuth: `scope=snsapi_base` (silent, openid only) or `snsapi_userinfo`
    ("use my WeChat nickname and avatar"). A signed-in shopper without an openid gets it
    linked to their account.

    Consent comes first (PIPL): a POST from the sign-in form must carry the ticked box; a
    GET is only for a signed-in shopper who has agreed to the current texts (linking WeChat
    from their account page). Anyone else is sent to the sign-in page."""
    if not wechat_oauth_configured():
        return _wechat_error(request, WeChatSignInUnavailable())
    data = request.POST if request.method == "POST" else request.GET
    scope = data.get("scope")
    scope = scope if scope in SCOPES else SCOPE_BASE
    next_url = safe_next(request, data.get("next"))
    if request.method == "POST":
        consent = consent_from_form(request.POST)
        try:
            consent_check(consent=consent)
        except DomainError as exc:
            return _login_page(
                request, next_url=next_url, step="phone", error=exc, status=exc.status
            )
    elif request.shopper is not None and shopper_consent_is_current(shopper=request.shopper):
        consent = legal_versions_current()
    else:
        return HttpResponseRedirect(login_url_for(next_url))
    return _wechat_redirect(request, scope=scope, next_url=next_url, consent=consent)


@require_http_methods(["GET"])
def wechat_callback(request):
    """WeChat sends the browser back here with `code` and `state`. The state is spent
    first, whatever happens next, so a callback URL can never be replayed."""
    try:
        pending = oauth_state_consume(session=request.session, state=request.GET.get("state"))
        code = request.GET.get("code")
        if not code:
            raise WeChatSignInFailed(_("WeChat sign-in was cancelled."))
        identity = wechat_identity_fetch(code=code)
        shopper = services.shopper_sign_in_with_wechat(
            openid=identity.openid, unionid=identity.unionid, nickname=identity.nickname,
            avatar_url=identity.avatar_url, current=request.shopper, consent=pending.consent,
        )
    except DomainError as exc:
        return _wechat_error(request, exc)
    return _signed_in(request, shopper, safe_next(request, pending.next_url))


@require_POST
def logout(request):
    shopper_logout(request)
    return redirect("storefront:home")


# Profile and addresses ---------------------------------------------------------------------


@shopper_required
@require_http_methods(["GET", "POST"])
def consent_renew(request):
    """The texts changed since the shopper agreed: show both, ask once to agree again."""
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    error = None
    if request.method == "POST":
        try:
            shopper_consent_renew(
                shopper=request.shopper, consent=consent_from_form(request.POST)
            )
        except DomainError as exc:
            error = exc
        else:
            return HttpResponseRedirect(next_url)
    elif shopper_consent_is_current(shopper=request.shopper):
        return HttpResponseRedirect(next_url)
    return render(
        request, "storefront/account/consent.html",
        {"tab": "me", "next": next_url, "versions": legal_versions_current(),
         "error": error, "documents": [legal_document_get(kind=kind) for kind in KINDS]},
        status=error.status if error else 200,
    )


@require_http_methods(["GET"])
def legal_document(request, kind: str):
    """The user agreement or privacy policy as a page of the mall: readable signed out."""
    if kind not in KINDS:
        raise Http404()
    return render(
        request, "storefront/account/legal.html",
        {"tab": "me", "document": legal_document_get(kind=kind)},
    )


@shopper_required
@consent_required
def me(request):
    shopper = request.shopper
    context = {
        "tab": "me",
        "shopper": shopper,
        "phone_masked": mask_phone(shopper.phone) if shopper.phone else "",
        "default_address": selectors.address_get_default(shopper=shopper),
        "wechat_enabled": wechat_oauth_offered(in_wechat=_in_wechat(request)),
        "wechat_userinfo_url": _wechat_start_url(SCOPE_USERINFO, "/me/"),
        "link_phone_url": f"{reverse('storefront:login')}?"
        + urlencode({"method": "phone", "next": "/me/"}),
    }
    return render(request, "storefront/account/me.html", context)


class AddressForm(forms.Form):
    """Renders the fields; the shoppers service validates (its messages are shown)."""

    recipient = forms.CharField(label=gettext_lazy("Recipient"), max_length=30)
    phone = forms.CharField(
        label=gettext_lazy("Phone"), max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    province = forms.CharField(label=gettext_lazy("Province"), max_length=20)
    city = forms.CharField(label=gettext_lazy("City"), max_length=20)
    district = forms.CharField(label=gettext_lazy("District"), max_length=20, required=False)
    detail = forms.CharField(
        label=gettext_lazy("Street and number"), max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    is_default = forms.BooleanField(label=gettext_lazy("Use as default address"), required=False)


def _address_values(form: AddressForm) -> dict:
    """The raw submitted values: the service is the one place that validates them."""
    return {name: form.data.get(name, "") for name in form.fields if name != "is_default"}


def _apply_errors(form: AddressForm, exc: DomainError) -> None:
    """Show the service's messages (and only those: it is the one that validates)."""
    form.is_valid()  # builds cleaned_data, so that errors can be added
    form.errors.clear()
    for field, field_messages in exc.fields.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)
    if not exc.fields:
        form.add_error(None, exc.message)


@shopper_required
@consent_required
def address_list(request):
    addresses = selectors.address_list(shopper=request.shopper)
    return render(
        request, "storefront/account/addresses.html", {"tab": "me", "addresses": addresses}
    )


@shopper_required
@consent_required
@require_http_methods(["GET", "POST"])
def address_create(request):
    """New address; `next` (a same-host path, e.g. back to checkout) is where to go after."""
    form = AddressForm(request.POST or None)
    next_url = safe_next(
        request, request.POST.get("next") or request.GET.get("next"),
        default=reverse("storefront:address_list"),
    )
    context = {"tab": "me", "form": form, "creating": True, "next": next_url}
    if request.method == "POST":
        try:
            services.address_create(
                shopper=request.shopper, **_address_values(form),
                is_default=request.POST.get("is_default") in ("on", "true", "1"),
            )
        except DomainError as exc:
            _apply_errors(form, exc)
            return render(
                request, "storefront/account/address_form.html", context, status=exc.status
            )
        messages.success(request, _("Address saved."))
        return HttpResponseRedirect(next_url)
    return render(request, "storefront/account/address_form.html", context)


@shopper_required
@consent_required
@not_found_as_404
@require_http_methods(["GET", "POST"])
def address_edit(request, address_id: int):
    address = selectors.address_get_for_shopper(shopper=request.shopper, address_id=address_id)
    if request.method == "POST":
        form = AddressForm(request.POST)
        data = _address_values(form)
        if request.POST.get("is_default") in ("on", "true", "1"):
            data["is_default"] = True
        try:
            services.address_update(shopper=request.shopper, address_id=address.pk, data=data)
        except AddressInvalid as exc:
            _apply_errors(form, exc)
            return render(
                request, "storefront/account/address_form.html",
                {"tab": "me", "form": form, "address": address}, status=exc.status,
            )
        messages.success(request, _("Address saved."))
        return redirect("storefront:address_list")
    form = AddressForm(initial={**address.snapshot(), "is_default": address.is_default})
    return render(
        request, "storefront/account/address_form.html",
        {"tab": "me", "form": form, "address": address},
    )


@shopper_required
@not_found_as_404
@require_POST
def address_delete(request, address_id: int):
    services.address_delete(shopper=request.shopper, address_id=address_id)
    messages.success(request, _("Address deleted."))
    return redirect("storefront:address_list")


@shopper_required
@not_found_as_404
@require_POST
def address_set_default(request, address_id: int):
    services.address_set_default(shopper=request.shopper, address_id=address_id)
    messages.success(request, _("Default address changed."))
    return redirect("storefront:address_list")
