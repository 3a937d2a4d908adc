"""The storefront's page and API cache: catalogue pages rendered once per mall and version.

Home, categories, listings, search, product pages and the catalogue API are the same for
every shopper of a mall, so they are rendered once and kept in Redis under a key made of:

- the mall (its schema, by the cache's KEY_FUNCTION, and its row's id and creation time, so
  a schema name or id used again, after a mall is dropped or in a recreated test database,
  never meets the old pages);
- `Merchant.catalog_version`, which PostgreSQL bumps in the transaction of every change a
  shopper can see (tenants 0007, catalog 0004): staff edits, prices, shelf, a SKU selling
  out or coming back, images, banners, 满减 rules, the mall's own settings. It comes with the
  host lookup's row, so a cached page costs no query, and the very next request after a
  change misses;
- the language, scheme, host, path and only the query parameters the view reads (a share
  link's `?ref=` does not make a new copy).

Entries live PAGE_CACHE_SECONDS (with some jitter, so a mall's pages do not all expire in
the same second): stock counts and sales figures move with every order without bumping the
version, so they are at most that old.

Nothing personal is stored. The CSRF token of a page's forms is rendered as a placeholder
(`csrf_placeholder`, a context processor) and each response gets the visitor's own token in
its place, so signed-in shoppers get the cached page too. A request with a flash message
waiting is rendered afresh (the message is personal and would be lost otherwise).

The API also answers conditional GETs: the ETag is a hash of the stored answer, so a client
holding the current copy gets 304 (and a new copy after any change or expiry gets a new one).
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable, Iterable
from functools import wraps

import redis
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.middleware.csrf import get_token
from django.utils.cache import patch_vary_headers

from storefront.web.funnel import funnel_mark

logger = logging.getLogger(__name__)

CSRF_PLACEHOLDER = "page-cache-csrf-7d1f0c"
_CSRF_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
HEADER = "X-Page-Cache"


def csrf_placeholder(request) -> dict:
    """Context processor: while a page is rendered for the cache, forms carry a placeholder
    where the CSRF token goes (later processors override the built-in csrf one)."""
    if getattr(request, "page_cache_rendering", False):
        return {"csrf_token": CSRF_PLACEHOLDER}
    return {}


def _has_flash_messages(request) -> bool:
    """True when a message is waiting; len() reads the storage without consuming it."""
    storage = getattr(request, "_messages", None)
    return storage is not None and len(messages.get_messages(request)) > 0


def cache_key(request, params: Iterable[str]) -> str:
    tenant = request.tenant
    query = "&".join(
        f"{name}={value}" for name in params for value in request.GET.getlist(name)
    )
    raw = (
        f"{tenant.pk}|{tenant.created_at.timestamp()}|{tenant.catalog_version}|"
        f"{request.LANGUAGE_CODE}|"
        f"{request.scheme}://{request.get_host()}{request.path}?{query}"
    )
    return "page:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _etag(content: bytes) -> str:
    return f'W/"{hashlib.blake2b(content, digest_size=12).hexdigest()}"'


def _lifetime() -> int:
    seconds = settings.PAGE_CACHE_SECONDS
    return max(1, round(seconds * random.uniform(0.85, 1.0)))


def _rendered(response) -> HttpResponse:
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    return response


def _respond(request, entry: tuple[str, bytes, str], state: str, etag: bool) -> HttpResponse:
    content_type, content, tag = entry
    if _CSRF_PLACEHOLDER_BYTES in content:
        content = content.replace(_CSRF_PLACEHOLDER_BYTES, get_token(request).encode())
    response = HttpResponse(content, content_type=content_type)
    response[HEADER] = state
    response["Content-Language"] = request.LANGUAGE_CODE
    if etag:
        response["ETag"] = tag
    # Kept by the visitor's own browser only (a page carries their CSRF token; no-store
    # would also rule out the back/forward cache), and checked with us before each use.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


def shopper_cache(
    *, params: Iterable[str] = (), marks: Iterable[str] = (), etag: bool = False
) -> Callable:
    """Serve the decorated catalogue view from the cache, rendering it on a miss.

    `params`: the query parameters the view reads (the rest do not change the page).
    `marks`: funnel stages to count for a page served (a cached hit never runs the view).
    `etag`: answer conditional GETs (the API).
    """
    params, marks = tuple(params), tuple(marks)

    def decorator(view):
        @wraps(view)
        def cached_view(request, *args, **kwargs):
            tenant = getattr(request, "tenant", None)
            if (
                request.method not in ("GET", "HEAD")
                or not settings.PAGE_CACHE_SECONDS
                or tenant is None
                or _has_flash_messages(request)
            ):
                return view(request, *args, **kwargs)
            key = cache_key(request, params)
            try:
                entry = cache.get(key)
            except (redis.RedisError, OSError) as exc:
                # Redis down: the page is rendered as if there were no cache, never a 500.
                logger.warning("page cache unavailable (Redis: %s)", exc)
                return view(request, *args, **kwargs)
            state = "hit"
            if entry is None:
                request.page_cache_rendering = True
                try:
                    response = _rendered(view(request, *args, **kwargs))
                finally:
                    request.page_cache_rendering = False
                if response.status_code != 200:
                    return response
                entry = (response["Content-Type"], response.content, _etag(response.content))
                try:
                    cache.set(key, entry, _lifetime())
                except (redis.RedisError, OSError) as exc:
                    logger.warning("page not cached (Redis: %s)", exc)
                state = "miss"
            for stage in marks:
                funnel_mark(request, stage)
            if etag and entry[2] in request.headers.get("If-None-Match", ""):
                response = HttpResponseNotModified()
                response["ETag"] = entry[2]
                response[HEADER] = "not-modified"
                return response
            return _respond(request, entry, state, etag)

        return cached_view

    return decorator

