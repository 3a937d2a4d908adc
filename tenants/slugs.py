"""Shop addresses: a merchant's slug is the DNS label of its host and names its schema."""

import re

from django.core.exceptions import ValidationError

MIN_LENGTH = 3
MAX_LENGTH = 30
RESERVED_SLUGS = frozenset(
    {
        "www", "admin", "api", "static", "media", "console", "mail", "help", "support",
        "app", "apps", "assets", "blog", "billing", "cdn", "dashboard", "dev", "docs", "ftp",
        "imap", "login", "m", "mx", "ns1", "ns2", "pay", "payment", "platform", "pop",
        "public", "smtp", "staging", "status", "test", "wechat", "weixin", "shop", "mall",
    }
)
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def validate_slug(slug: str) -> None:
    """Raise ValidationError with a message a merchant can act on."""
    if not MIN_LENGTH <= len(slug) <= MAX_LENGTH:
        raise ValidationError(
            f"Use {MIN_LENGTH} to {MAX_LENGTH} characters.", code="length"
        )
    if not _DNS_LABEL.match(slug):
        raise ValidationError(
            "Use lowercase letters, digits and hyphens; start and end with a letter or digit.",
            code="format",
        )
    if slug.startswith("xn--") or "--" in slug:
        raise ValidationError("Two hyphens in a row are not allowed.", code="format")
    if slug in RESERVED_SLUGS:
        raise ValidationError("This address is reserved; please choose another.", code="reserved")


def schema_name_for(slug: str) -> str:
    """Slugs hold no underscore, so mapping hyphens to underscores is one-to-one."""
    return "m_" + slug.replace("-", "_")
