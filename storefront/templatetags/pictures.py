"""Pictures in shopper pages: `{% picture source "slot" %}` writes the <img> of a stored
picture at the size of the place it is shown (storefront.catalog.images.RENDITIONS), as
WebP where the browser takes it (<picture><source type="image/webp">) and JPEG otherwise,
with width and height (no layout shift while it loads) and the loading hints of its place:

    {% picture product.cover.image "tile" index=forloop.counter0 fold=2 %}

`source` is a stored file (an ImageField's value) or a URL of this mall's media, as order
lines and cart rows keep them; any other URL is shown as it is. `index` < `fold` loads at
once (above the fold), later ones lazily; the first of a list with `fold` > 0 is the page's
likely Largest Contentful Paint and is fetched first (fetchpriority=high). Without `index`
the picture loads at once with no hint. `alt`, `css_class` and `id` go on the <img>.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.db import connection
from django.utils.html import format_html, format_html_join

from storefront.catalog.images import RENDITIONS, rendition_get

register = template.Library()


def _stored_name(source) -> str:
    """The storage name of `source` in the current mall, or "" if it is not one."""
    name = getattr(source, "name", None)
    if name is not None:
        return name or ""
    if isinstance(source, str):
        prefix = f"{settings.MEDIA_URL}{connection.schema_name}/"
        path = urlsplit(source).path
        if path.startswith(prefix):
            return path.removeprefix(prefix)
    return ""


def _loading(index, fold) -> dict[str, str]:
    if index is None or index == "":
        return {}
    if int(index) >= int(fold):
        return {"loading": "lazy"}
    return {"fetchpriority": "high"} if int(index) == 0 else {}


@register.simple_tag
def picture(source, slot: str, *, alt: str = "", index=None, fold=1, css_class: str = "",
            id: str = ""):  # noqa: A002 - the HTML attribute's name
    if slot not in RENDITIONS:
        raise template.TemplateSyntaxError(f"picture: no slot {slot!r}")
    width, height = RENDITIONS[slot]
    # height:auto: the attributes give the browser the aspect ratio before the file arrives,
    # while the page's CSS keeps deciding the width (a bare height attribute would set it)
    attrs = {"alt": alt, "width": str(width), "height": str(height), "style": "height:auto",
             "decoding": "async", **_loading(index, fold)}
    if css_class:
        attrs["class"] = css_class
    if id:
        attrs["id"] = id
    name = _stored_name(source)
    rendition = rendition_get(name, slot) if name else None
    if rendition is None:
        url = getattr(source, "url", None) if getattr(source, "name", None) else source
        return format_html("<img src=\"{}\"{}>", url or "", _attributes(attrs))
    return format_html(
        "<picture style=\"display:contents\"><source type=\"image/webp\" srcset=\"{}\">"
        "<img src=\"{}\"{}></picture>",
        rendition.webp_url, rendition.jpeg_url, _attributes(attrs),
    )


def _attributes(attrs: dict[str, str]):
    return format_html_join("", " {}=\"{}\"", attrs.items())


@register.simple_tag
def picture_url(source, slot: str) -> str:
    """The JPEG of `source` for `slot` (for an <img> whose src a script swaps), else the
    original's URL."""
    name = _stored_name(source)
    rendition = rendition_get(name, slot) if name else None
    if rendition is not None:
        return rendition.jpeg_url
    return (getattr(source, "url", "") if getattr(source, "name", None) else source) or ""
