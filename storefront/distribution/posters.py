"""Share posters (分享海报): a PNG a distributor saves and posts in WeChat — the product's
picture (or the shop's name), its title and price, the distributor's nickname and a QR
code of their link (which binds the visitor to them and carries their invite code).

The font. A poster is mostly Chinese, and Pillow's own font has no CJK glyph: every
character would come out as the .notdef box (tofu). The font must install with the project,
never be fetched at run time, and not be copied into the repository. What was looked at:

- PyPI `manimgx-fonts-cjk` (chosen): Noto Sans CJK exactly as Google/Adobe publish it
  (SIL OFL 1.1), one variable-weight collection, installed by `pip install` with the rest of
  the project (Makefile, .ci/run and the Dockerfile need nothing more). ~20 MB wheel.
- PyPI `paperang-p2-fonts-cjk`: WenQuanYi Micro Hei, 5 MB, but one weight, a font that is
  no longer maintained, and a package whose declared licence (MIT) is not the font's.
- npm `@fontsource/noto-sans-sc`: WOFF2 files split by unicode range for browsers, not one
  font file Pillow can draw a whole string with; `@expo-google-fonts/noto-sans-sc` ships TTFs
  but would bring npm into the build for a font alone.
- Debian `fonts-wqy-microhei` / `fonts-noto-cjk`: a system package, which `pip install` and
  the production image would not bring (the CI script installs one for the browser only).

In the collection, face 2 is Noto Sans CJK SC (Simplified Chinese glyph forms); the weights
are named instances of its variable axis.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import manimgx_fonts_cjk
import qrcode
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from storefront.catalog.selectors import product_list
from storefront.distribution.errors import DistributionNotFound

logger = logging.getLogger(__name__)

FONT_FILE = Path(manimgx_fonts_cjk.__file__).with_name("NotoSansCJK-VF.otf.ttc")
FONT_FACE_SC = 2  # JP, KR, SC, TC, HK in the collection
WIDTH, HEIGHT = 750, 1200
MARGIN = 40
PICTURE = WIDTH - 2 * MARGIN
PICTURE_HEIGHT = 600
BRAND = (7, 193, 96)
INK = (31, 35, 40)
MUTED = (106, 115, 125)
PRICE_RED = (228, 57, 60)
QR_SIZE = 210


def cjk_font(size: int, weight: str = "Regular") -> ImageFont.FreeTypeFont:
    """Noto Sans CJK SC at `size` px in a named weight (Thin … Regular, Medium, Bold, Black).
    A new object each call (FreeType opens the file by path, well under a millisecond):
    setting the weight changes the object, so none is shared between requests."""
    font = ImageFont.truetype(str(FONT_FILE), size, index=FONT_FACE_SC)
    font.set_variation_by_name(weight)
    return font


@dataclass(frozen=True)
class PosterSubject:
    """What a poster shows: a product for sale, or the shop itself (no product)."""

    title: str
    price_fen: int | None
    picture: object | None  # an ImageFieldFile, or None
    product_id: int | None = None


def poster_subject(*, product_id: int | None, mall_name: str) -> PosterSubject:
    """The product (for sale) a poster is about, or the shop when no product is named."""
    if product_id is None:
        return PosterSubject(title=mall_name, price_fen=None, picture=None)
    product = product_list().filter(pk=product_id).first()
    if product is None:
        raise DistributionNotFound("No such product for sale.")
    cover = product.cover
    return PosterSubject(title=product.title, price_fen=product.min_price_fen,
                         picture=cover.image if cover and cover.image else None,
                         product_id=product.pk)


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int, lines: int) -> list[str]:
    """Break `text` into at most `lines` lines of at most `width` px: between any two
    Chinese characters (no spaces to break at), between words of Latin text; an
    overflowing last line ends with "…"."""
    result, current = [], ""
    for char in text.replace("\n", " "):
        if font.getlength(current + char) <= width:
            current += char
            continue
        head, carried = current, ""
        if char.isascii() and char.isalnum() and " " in current.strip():
            head, _space, carried = current.rpartition(" ")
        result.append(head.rstrip())
        current = (carried + char).lstrip()
        if len(result) == lines:
            break
    else:
        if current:
            result.append(current)
        return result
    last = result[-1]
    while last and font.getlength(last + "…") > width:
        last = last[:-1]
    result[-1] = last + "…"
    return result


def _picture(subject: PosterSubject) -> Image.Image | None:
    """The product's picture cropped to the poster's square, or None when it is missing or
    unreadable (the poster then shows the shop's block instead of failing)."""
    if subject.picture is None:
        return None
    try:
        with subject.picture.open("rb") as handle, Image.open(handle) as source:
            source.draft("RGB", (PICTURE, PICTURE_HEIGHT))  # JPEGs decode smaller
            return ImageOps.fit(source.convert("RGB"), (PICTURE, PICTURE_HEIGHT))
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        logger.warning("poster picture of product %s unreadable: %s", subject.product_id, exc)
        return None


def _qr(link_url: str) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10,
                         border=2)
    code.add_data(link_url)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image()
    return image.convert("RGB").resize((QR_SIZE, QR_SIZE), Image.Resampling.NEAREST)


def _shop_block(draw: ImageDraw.ImageDraw, mall_name: str, top: int) -> None:
    draw.rounded_rectangle((MARGIN, top, MARGIN + PICTURE, top + PICTURE_HEIGHT), radius=24,
                           fill=BRAND)
    big = cjk_font(72, "Bold")
    lines = _wrap(mall_name, big, PICTURE - 80, 3)
    y = top + PICTURE_HEIGHT // 2 - len(lines) * 50 - 20
    for line in lines:
        draw.text((WIDTH // 2, y), line, font=big, fill="white", anchor="mt")
        y += 100
    draw.text((WIDTH // 2, y + 20), _("Good things, shared by a friend"),
              font=cjk_font(34), fill="white", anchor="mt")


def poster_render(*, subject: PosterSubject, mall_name: str, link_url: str,
                  nickname: str) -> bytes:
    """The poster as PNG bytes (750×1200): header, picture, title, price, the sharer's
    name and the QR code of `link_url`."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, WIDTH, 96), fill=BRAND)
    draw.text((MARGIN, 48), _wrap(mall_name, cjk_font(36, "Bold"), PICTURE, 1)[0],
              font=cjk_font(36, "Bold"), fill="white", anchor="lm")
    top = 96 + MARGIN // 2
    picture = _picture(subject)
    if picture is not None:
        canvas.paste(picture, (MARGIN, top))
    else:
        _shop_block(draw, mall_name, top)
    y = top + PICTURE_HEIGHT + 24
    title_font = cjk_font(34, "Medium")
    title = subject.title if subject.product_id else _("Visit %(mall)s") % {"mall": mall_name}
    for line in _wrap(title, title_font, PICTURE, 2):
        draw.text((MARGIN, y), line, font=title_font, fill=INK)
        y += 46
    if subject.price_fen is not None:
        draw.text((MARGIN, y + 6), _yuan(subject.price_fen), font=cjk_font(48, "Bold"),
                  fill=PRICE_RED)
    bottom = HEIGHT - QR_SIZE - MARGIN
    draw.line((MARGIN, bottom - 20, WIDTH - MARGIN, bottom - 20), fill=(229, 231, 235),
              width=2)
    canvas.paste(_qr(link_url), (WIDTH - MARGIN - QR_SIZE, bottom))
    text_width = PICTURE - QR_SIZE - 24
    who = _("%(name)s recommends") % {"name": nickname or _("Your friend")}
    draw.text((MARGIN, bottom + 30), _wrap(who, cjk_font(32, "Bold"), text_width, 1)[0],
              font=cjk_font(32, "Bold"), fill=INK)
    for index, line in enumerate(_wrap(_("Long-press or scan the QR code to open the shop"),
                                       cjk_font(26), text_width, 2)):
        draw.text((MARGIN, bottom + 90 + index * 36), line, font=cjk_font(26), fill=MUTED)
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()
