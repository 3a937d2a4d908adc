"""Settings → mall: the mall's profile as shoppers see it."""

from django.shortcuts import render

from merchant_console.access import staff_page


@staff_page("merchant_console.manage_settings")
def mall_settings(request):
    return render(request, "console/settings.html", {})
