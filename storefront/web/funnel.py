"""Counting the storefront's funnel (visits → product views → cart adds) without slowing it.

`FunnelMiddleware` notes a visit for every HTML page a mall's storefront serves with 200,
plus the stages the views marked (`funnel_mark`), and sends them all after the response is
built in one pipelined Redis round trip (storefront.insights.funnel). Redis down or slow:
the page is served all the same; the count is lost, nothing else."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import get_public_schema_name

from storefront.insights.funnel import funnel_record, visitor_key
from storefront.web.shopper_session import signed_in_shopper_id

# Paths that are not the shopper's pages (the API's product views and cart adds count
# through funnel_mark; its calls are not visits).
_NOT_PAGES = ("/console/", "/api/", "/static/", "/media/", "/admin/", "/healthz",
              "/favicon", "/bench/")


def funnel_mark(request, stage: str) -> None:
    """A view reached a stage ("product_views", "cart_adds"); sent with the response."""
    request = getattr(request, "_request", request)  # a DRF Request wraps the HttpRequest
    stages = getattr(request, "funnel_stages", None)
    if stages is not None:
        stages.append(stage)


class FunnelMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.funnel_stages = []
        response = self.get_response(request)
        schema = getattr(connection, "schema_name", None)
        if not schema or schema == get_public_schema_name():
            return response
        stages = list(request.funnel_stages)
        if (request.method == "GET" and response.status_code == 200
                and not request.path.startswith(_NOT_PAGES)
                and response.get("Content-Type", "").startswith("text/html")):
            stages.insert(0, "visits")
        if stages:
            session = getattr(request, "session", None)
            funnel_record(
                stages=stages, schema=schema,
                visitor=visitor_key(
                    session_key=session.session_key if session is not None else None,
                    shopper_id=signed_in_shopper_id(request),
                    address=request.META.get("REMOTE_ADDR", ""),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                ),
            )
        return response
