"""Small pieces every console page uses: a refusal as one line of text, a selector's
NotFound as the 404 page, and a list's query string without its page number."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404

from core.errors import DomainError, NotFound


def domain_error_text(exc: DomainError) -> str:
    """A refusal's message followed by its field messages, for a flash message."""
    details = "; ".join(m for messages_ in exc.fields.values() for m in messages_)
    return f"{exc.message} {details}".strip() if details else exc.message


def flash_refusal(request, exc: DomainError) -> None:
    """A refusal as an error message; a plan limit's carries the tag the layout turns into
    an "upgrade" link to the billing page."""
    messages.error(request, domain_error_text(exc),
                   extra_tags="plan_limit" if getattr(exc, "upgrade_url", None) else "")


def found_or_404(fetch, **kwargs):
    """A selector's row, or the 404 page for an id this mall does not have."""
    try:
        return fetch(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def query_without_page(request, *names: str) -> str:
    """The list's current query string without `page` (and `names`), for pager links."""
    query = request.GET.copy()
    for name in ("page", *names):
        query.pop(name, None)
    return query.urlencode()
