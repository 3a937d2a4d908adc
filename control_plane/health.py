"""/healthz on every host: database, Redis and worker, as JSON.

503 when the database or Redis is down (take this web process out of rotation); a missing
worker only degrades the platform (pages still serve), so it answers 200 with
status "degraded" and pages the operator through monitoring instead.
"""

import contextlib

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from control_plane.celery import app as celery_app

_WORKER_CACHE_KEY = "healthz:worker"
_WORKER_CACHE_SECONDS = 10


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # a probe reports, it never raises
        return f"error: {exc.__class__.__name__}"


def _check_redis() -> str:
    try:
        cache.set("healthz:ping", "1", 5)
        return "ok" if cache.get("healthz:ping") == "1" else "error: read-back mismatch"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"


def _check_worker() -> str:
    """Ping the workers over the broker; cached a few seconds so probes stay cheap."""
    try:
        cached = cache.get(_WORKER_CACHE_KEY)
    except Exception:
        cached = None
    if cached:
        return cached
    try:
        replies = celery_app.control.ping(timeout=0.5)
        state = "ok" if replies else "down"
    except Exception as exc:
        state = f"error: {exc.__class__.__name__}"
    with contextlib.suppress(Exception):
        cache.set(_WORKER_CACHE_KEY, state, _WORKER_CACHE_SECONDS)
    return state


@never_cache
@require_GET
def healthz(request):
    checks = {
        "database": _check_database(),
        "redis": _check_redis(),
        "worker": _check_worker(),
    }
    critical_ok = checks["database"] == "ok" and checks["redis"] == "ok"
    status = "ok" if critical_ok and checks["worker"] == "ok" else (
        "degraded" if critical_ok else "down"
    )
    return JsonResponse(
        {"status": status, "schema": connection.schema_name, **checks},
        status=200 if critical_ok else 503,
    )
