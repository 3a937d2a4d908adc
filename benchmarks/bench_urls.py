"""A mall host's URLconf plus `bench/bare`: a view that does nothing but answer, served
through the same gunicorn and the same middleware stack (host → merchant lookup, sessions,
CSRF, shopper, mall availability) as every real page, so a page's requests/s can be read as
a fraction of what the stack allows. Loaded only through benchmarks.bench_settings."""

from django.http import HttpResponse
from django.urls import path

from control_plane.media import serve_tenant_media
from control_plane.urls_tenant import urlpatterns as tenant_urlpatterns


def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/bare", bare), *tenant_urlpatterns]
if not any(getattr(p, "callback", None) is serve_tenant_media for p in urlpatterns):
    # With DEBUG off the mall's uploads are production's nginx's to serve; page_load.py
    # needs them with the same headers (control_plane.media.IMMUTABLE).
    urlpatterns.append(path("media/<str:schema>/<path:path>", serve_tenant_media))
