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


@register.filter
def yuan_short(fen) -> str:
    """Yuan without trailing zeros, for tags such as 满199减20: 19900 -> "199",
    19950 -> "199.5", 19955 -> "199.55"."""
    text = yuan(fen)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
