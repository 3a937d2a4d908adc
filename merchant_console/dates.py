"""Dates typed into console filters (YYYY-MM-DD) as the bounds of the mall's days
(Asia/Shanghai, the project's TIME_ZONE)."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone


def _day(value, *, end: bool):
    """The start (or end) of a YYYY-MM-DD day in the mall's time zone; None if unreadable."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return None
    if value is None:
        return None
    return timezone.make_aware(datetime.combine(value, time.max if end else time.min))


def day_start(value):
    return _day(value, end=False)


def day_end(value):
    return _day(value, end=True)
