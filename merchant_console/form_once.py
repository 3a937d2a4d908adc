"""Create forms that make one thing however often they are posted.

A console form that creates something (a commission plan, …) carries a one-time token
(`{% form_once_token %}`). `@submitted_once` records the token, with a hash of the fields
sent, in the same transaction as what the view makes, and the address it redirected to; the
same form posted again with the same fields — a double click, or a browser resending a POST
whose answer was lost — is redirected there and makes nothing. The same page sent again
with other fields (back, edit, save) is a new submission. Two copies posted at once queue
on the key's unique index: the second waits for the first to commit, then is redirected
too. A submission that did not succeed (the form came back with errors) records nothing,
so the corrected form may be sent again.

Only for views that answer a success with a redirect (post/redirect/get): any other answer
is taken as "nothing made", and the view's writes are rolled back with the token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from functools import wraps

from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.http.response import HttpResponseRedirectBase
from django.utils import timezone

from merchant_console.models import FormSubmission

FIELD = "form_once_token"
KEEP = dt.timedelta(days=1)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


def form_once_token_new() -> str:
    return secrets.token_urlsafe(32)


def _submission_key(request, token: str) -> str:
    """The token and every field sent (the CSRF token aside), as one SHA-256."""
    digest = hashlib.sha256(token.encode())
    for name, values in sorted(request.POST.lists()):
        if name != "csrfmiddlewaretoken":
            digest.update(repr((name, values)).encode())
    return digest.hexdigest()


def submitted_once(view):
    """Decorate a create view (inside its permission check): see the module's docstring.
    A POST without a well-formed token runs the view as it is."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        token = request.POST.get(FIELD, "") if request.method == "POST" else ""
        if not _TOKEN.fullmatch(token):
            return view(request, *args, **kwargs)
        key = _submission_key(request, token)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    submission = FormSubmission.objects.create(key=key, location="")
            except IntegrityError:
                location = FormSubmission.objects.values_list(
                    "location", flat=True).get(key=key)
                return HttpResponseRedirect(location)
            response = view(request, *args, **kwargs)
            if not isinstance(response, HttpResponseRedirectBase):
                # nothing made: the token goes with whatever the view wrote
                transaction.set_rollback(True)
                return response
            submission.location = response["Location"]
            submission.save(update_fields=["location"])
            FormSubmission.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
            return response

    return wrapped
