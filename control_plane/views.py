"""The public site: landing page and merchant signup."""

from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from billing.models import Plan
from control_plane.forms import MerchantSignupForm
from control_plane.throttles import SignupThrottle
from tenants import services
from tenants.errors import SignupInvalid, SlugTaken
from tenants.handoff import handoff_token_create


def landing(request):
    return render(request, "public/landing.html", {"plans": Plan.objects.all()})


@require_http_methods(["GET", "POST"])
def signup(request):
    form = MerchantSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not SignupThrottle().allow_request(request, None):
            form.add_error(None, _("Too many signups from your network; try again later."))
            return render(request, "public/signup.html", {"form": form}, status=429)
        try:
            result = services.merchant_signup(**form.cleaned_data)
        except (SignupInvalid, SlugTaken) as exc:
            for field, messages in exc.fields.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
            status = 409 if isinstance(exc, SlugTaken) else 400
            return render(request, "public/signup.html", {"form": form}, status=status)
        # The owner's session must open on the mall's own host: the browser carries a
        # single-use token there in an auto-submitted POST, never in a URL that servers,
        # proxies and browser history keep.
        token = handoff_token_create(
            schema_name=result.merchant.schema_name, user_id=result.owner_id
        )
        response = render(request, "public/handoff.html", {
            "handoff_url": f"{result.merchant.home_url}console/handoff/", "token": token,
        })
        add_never_cache_headers(response)
        return response
    status = 400 if request.method == "POST" else 200
    return render(request, "public/signup.html", {"form": form}, status=status)
