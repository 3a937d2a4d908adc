"""Money in templates: amounts are integer fen; shoppers read yuan."""

from django import template

register = template.Library()


@register.filter
def yuan(fen) -> str:
    """12345 -> "123.45"; integer arithmetic only, never floats."""
    if fen in (None, ""):
        return ""
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"
