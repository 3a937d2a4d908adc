"""What a locked-out sign-in answers (django-axes' AXES_LOCKOUT_CALLABLE): a page that says
the account and network are locked, for how long, and who can unlock them. The same page
serves a mall's staff console and the platform admin; the context processor's `mall` tells
them apart."""

from __future__ import annotations

from axes.helpers import get_cool_off
from django.shortcuts import render


def lockout_response(request, original_response=None, credentials=None):
    cool_off = get_cool_off(request)
    minutes = int(cool_off.total_seconds() // 60) if cool_off else 0
    return render(request, "lockout.html", {"minutes": minutes}, status=429)
