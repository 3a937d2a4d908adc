"""The staff console's entry: sign-in on the mall's own host, and its home."""

from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.db import connection
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from merchant_console.access import staff_page
from storefront.distribution.compliance import alerts_open_count
from storefront.insights import selectors as insights
from storefront.insights.errors import InsightsInvalid
from storefront.insights.selectors import period_parse
from tenants.handoff import handoff_token_consume


class ConsoleLoginView(auth_views.LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = True
    # Without ?next= (signing in again after signing out), not Django's default
    # LOGIN_REDIRECT_URL /accounts/profile/, which no mall serves.
    next_page = "console:home"

    def form_valid(self, form):
        if not form.get_user().is_staff:
            form.add_error(None, _("This account is not a staff account of this mall."))
            return self.form_invalid(form)
        return super().form_valid(form)


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "console:login"


@csrf_exempt  # posted from the platform host, which cannot hold this host's CSRF cookie
@require_POST
def handoff(request):
    """Opens a session for the owner who just signed up on the platform host. The token in
    the POST body is the proof: signed, for this mall's schema only, two minutes, one use."""
    user_id = handoff_token_consume(
        token=request.POST.get("t", ""), schema_name=connection.schema_name
    )
    if user_id is None:
        return redirect("console:login")
    user = get_user_model().objects.filter(pk=user_id, is_active=True, is_staff=True).first()
    if user is None:
        return redirect("console:login")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("console:home")


@staff_page()
def home(request):
    """Everyone's landing page; the sales figures only for staff who may see them
    (merchant_console.view_dashboard): the period's figures, best sellers and best
    distributors rendered here, the charts fetched from /console/dashboard/…"""
    context, status = {}, 200
    if request.user.has_perm("distribution.view_compliancealert"):
        context["compliance_open"] = alerts_open_count()["open"]
    if request.user.has_perm("merchant_console.view_dashboard"):
        try:
            period = period_parse(request.GET.get("period"))
        except InsightsInvalid as exc:
            context["period_error"], status = exc.message, 400
            period = period_parse(None)
        daily = insights.sales_daily(period=period)
        context.update(
            period=period, periods=PERIOD_TABS,
            summary=insights.sales_summary(period=period, daily=daily),
            top_goods=insights.top_goods(period=period),
            top_distributors=insights.top_distributors(period=period),
        )
    return render(request, "console/home.html", context, status=status)


PERIOD_TABS = [("today", _lazy("Today")), ("7d", _lazy("7 days")), ("30d", _lazy("30 days"))]
