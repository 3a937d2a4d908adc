"""The storefront's funnel counts (visits, product views, cart adds) in Redis.

A request's stages go out in ONE round trip, a Lua script (HINCRBY per stage on the mall's
hash of the day, PFADD of the visitor into the day's HyperLogLog), with a short socket timeout:
recording never slows a page noticeably, and with Redis down the page is served all the
same (the error is logged once a minute, the count lost). `funnel_flush` copies the day's
totals into FunnelDay every minute (tasks.py); keys expire after a few days.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from storefront.insights.models import FunnelDay
from storefront.insights.rollups import business_day

logger = logging.getLogger(__name__)

STAGES = ("visits", "product_views", "cart_adds")
KEY_TTL_SECONDS = 3 * 24 * 3600
SOCKET_TIMEOUT = 0.1  # seconds: a slow or absent Redis costs a page at most this

_client: redis.Redis | None = None
_last_warning = [0.0]
# After a failure, pages skip Redis for this long: a hanging Redis costs one request the
# timeout, not every request.
PAUSE_AFTER_FAILURE = 5.0
_paused_until = [0.0]


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT, retry_on_timeout=False,
            retry=Retry(NoBackoff(), 0),  # no retries: a lost count beats a slow page
        )
    return _client


# One EVALSHA instead of a pipeline of five commands: the same single round trip, without
# building a redis-py Pipeline (and its table of response callbacks) on every page.
_RECORD_LUA = """
for i = 3, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
    redis.call('PFADD', KEYS[2], ARGV[2])
    redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return 1
"""
_script = []


def _record_script():
    if not _script:
        _script.append(client().register_script(_RECORD_LUA))
    return _script[0]


def _keys(schema: str, day: dt.date) -> tuple[str, str]:
    stamp = day.isoformat()
    return f"funnel:{schema}:{stamp}", f"funnel-uv:{schema}:{stamp}"


def visitor_key(*, session_key: str | None, shopper_id: int | None, address: str,
                user_agent: str) -> str:
    """Who counts as one visitor: the shopper, else the session, else the address and
    browser (hashed, so Redis holds no address)."""
    if shopper_id:
        return f"s{shopper_id}"
    if session_key:
        return f"k{session_key}"
    return "a" + hashlib.sha256(f"{address}|{user_agent}".encode()).hexdigest()[:24]


def funnel_record(*, stages: list[str], visitor: str, schema: str | None = None,
                  now: dt.datetime | None = None) -> bool:
    """Add one to each stage for today and note the visitor. Never raises: answers False
    when Redis could not take it."""
    stages = [stage for stage in stages if stage in STAGES]
    if not stages:
        return True
    if time.monotonic() < _paused_until[0]:
        return False
    schema = schema or connection.schema_name
    counts, visitors = _keys(schema, business_day(now or timezone.now()))
    try:
        _record_script()(
            keys=[counts, visitors],
            args=[KEY_TTL_SECONDS, visitor if "visits" in stages else "", *stages],
            client=client(),
        )
    except (redis.RedisError, OSError) as exc:
        _paused_until[0] = time.monotonic() + PAUSE_AFTER_FAILURE
        if time.monotonic() - _last_warning[0] > 60:
            _last_warning[0] = time.monotonic()
            logger.warning("funnel counts not recorded (Redis: %s)", exc)
        return False
    return True


def funnel_flush(*, days: int = 2, now: dt.datetime | None = None) -> int:
    """Copy the last `days` days' counts of this mall from Redis into FunnelDay (absolute
    totals: running it twice changes nothing). One pipelined read; answers rows written."""
    schema = connection.schema_name
    today = business_day(now or timezone.now())
    wanted = [today - dt.timedelta(days=n) for n in range(days)]
    pipe = client().pipeline(transaction=False)
    for day in wanted:
        counts, visitors = _keys(schema, day)
        pipe.hgetall(counts)
        pipe.pfcount(visitors)
    answers = pipe.execute()
    written = 0
    for index, day in enumerate(wanted):
        counts, visitors = answers[2 * index], answers[2 * index + 1]
        if not counts:
            continue
        figures = {stage: int(counts.get(stage.encode(), 0)) for stage in STAGES}
        FunnelDay.objects.update_or_create(day=day, defaults={**figures,
                                                              "visitors": int(visitors)})
        written += 1
    return written
