"""Time as WeChat reports it: China Standard Time (UTC+8, no daylight saving) in RFC 3339."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "Asia/Shanghai")


def now() -> datetime:
    return datetime.now(CST)


def rfc3339(moment: datetime) -> str:
    """WeChat's timestamp format, e.g. 2024-05-01T10:00:00+08:00 (whole seconds)."""
    return moment.astimezone(CST).replace(microsecond=0).isoformat()


def bill_time(moment: datetime) -> str:
    """The `交易时间` column of a bill: local time without an offset."""
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")
