"""Pictures of the demo mall, drawn at seed time so nothing binary is committed: a product
shot (a soft studio gradient, a floor shadow, a shaded product shape with a highlight) per
kind of goods, square for products and category icons, wide for banners.

Shapes are drawn as masks at twice the size and scaled down, so their edges are smooth;
shading is a left-to-right light falloff inside the mask, the highlight a blurred stripe.
"""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageChops, ImageDraw, ImageFilter

RGB = tuple[int, int, int]
KINDS = ("bottle", "box", "mug", "bag", "shirt", "dress", "disc")
UNIT = 800  # shapes are laid out on an 800×800 canvas and scaled to the picture


def _mix(colour: RGB, other: RGB, amount: float) -> RGB:
    return tuple(round(c + (o - c) * amount) for c, o in zip(colour, other, strict=True))


def _studio(size: tuple[int, int], colour: RGB) -> Image.Image:
    """A vertical gradient from a pale tint of the product's colour to near-white."""
    width, height = size
    top, bottom = _mix(colour, (255, 255, 255), 0.72), _mix(colour, (255, 255, 255), 0.93)
    column = Image.new("RGB", (1, height))
    for y in range(height):
        column.putpixel((0, y), _mix(top, bottom, y / max(1, height - 1)))
    return column.resize(size)


def _mask(kind: str, scale: int) -> tuple[Image.Image, list[tuple]]:
    """The product's silhouette on an UNIT×UNIT canvas (times `scale`) and the darker
    details (caps, lids, ribbons) to draw over it, as (method, box, fill-amount) triples."""
    s = scale
    mask = Image.new("L", (UNIT * s, UNIT * s), 0)
    draw = ImageDraw.Draw(mask)
    details: list[tuple] = []

    def box(x0, y0, x1, y1):
        return (x0 * s, y0 * s, x1 * s, y1 * s)

    if kind == "bottle":
        draw.rounded_rectangle(box(270, 300, 530, 690), radius=70 * s, fill=255)
        draw.rectangle(box(270, 305, 530, 520), fill=255)
        draw.ellipse(box(270, 230, 530, 380), fill=255)
        draw.rounded_rectangle(box(350, 160, 450, 300), radius=18 * s, fill=255)
        details += [("rounded_rectangle", box(338, 110, 462, 190), 0.45),
                    ("rounded_rectangle", box(290, 420, 510, 560), -0.55)]
    elif kind == "box":
        draw.polygon([(p[0] * s, p[1] * s) for p in
                      [(190, 330), (400, 250), (610, 330), (610, 610), (400, 690), (190, 610)]],
                     fill=255)
        details += [("polygon", [(p[0] * s, p[1] * s) for p in
                                 [(190, 330), (400, 250), (610, 330), (400, 410)]], -0.35),
                    ("polygon", [(p[0] * s, p[1] * s) for p in
                                 [(400, 410), (610, 330), (610, 610), (400, 690)]], 0.25),
                    ("polygon", [(p[0] * s, p[1] * s) for p in
                                 [(280, 295), (315, 282), (525, 362), (490, 376)]], 0.55),
                    ("polygon", [(p[0] * s, p[1] * s) for p in
                                 [(490, 376), (525, 362), (525, 642), (490, 656)]], 0.55)]
    elif kind == "mug":
        draw.rounded_rectangle(box(220, 280, 520, 660), radius=46 * s, fill=255)
        draw.ellipse(box(460, 360, 640, 580), fill=255)
        draw.ellipse(box(505, 410, 595, 530), fill=0)
        draw.rectangle(box(470, 340, 510, 600), fill=255)
        details += [("ellipse", box(228, 262, 512, 318), 0.35)]
    elif kind == "bag":
        draw.arc(box(300, 150, 500, 420), start=180, end=360, fill=255, width=26 * s)
        draw.polygon([(p[0] * s, p[1] * s) for p in
                      [(230, 300), (570, 300), (615, 690), (185, 690)]], fill=255)
        details += [("rectangle", box(230, 300, 570, 335), 0.25)]
    elif kind == "shirt":
        draw.polygon([(p[0] * s, p[1] * s) for p in
                      [(300, 180), (345, 180), (400, 225), (455, 180), (500, 180), (640, 270),
                       (590, 370), (530, 335), (530, 680), (270, 680), (270, 335), (210, 370),
                       (160, 270)]], fill=255)
        details += [("chord", box(345, 140, 455, 250), 0.3)]
    elif kind == "dress":
        draw.polygon([(p[0] * s, p[1] * s) for p in
                      [(330, 150), (350, 150), (370, 260), (430, 260), (450, 150), (470, 150),
                       (500, 290), (470, 400), (640, 700), (160, 700), (330, 400), (300, 290)]],
                     fill=255)
        details += [("rectangle", box(320, 385, 480, 415), 0.35)]
    else:  # disc: a wrapped tea cake, seen from a low angle
        draw.ellipse(box(150, 330, 650, 540), fill=255)
        draw.rectangle(box(150, 435, 650, 535), fill=255)
        draw.ellipse(box(150, 430, 650, 640), fill=255)
        details += [("ellipse", box(150, 330, 650, 540), -0.25),
                    ("ellipse", box(350, 410, 450, 460), 0.3)]
    return mask, details


def _shot(size: tuple[int, int], colour: RGB, kind: str, *, offset_x: float = 0.0
          ) -> Image.Image:
    """The product shape on a studio background; `offset_x` shifts it (banners)."""
    width, height = size
    picture = _studio(size, colour)
    side = min(width, height)
    mask_big, details = _mask(kind, 2)
    mask = mask_big.resize((side, side), Image.LANCZOS)
    left, top = round((width - side) / 2 + offset_x * width), (height - side) // 2

    # the floor shadow and a soft drop shadow under the shape
    shadow = Image.new("L", size, 0)
    ImageDraw.Draw(shadow).ellipse((left + side * 0.2, top + side * 0.82,
                                    left + side * 0.8, top + side * 0.92), fill=120)
    drop = Image.new("L", size, 0)
    drop.paste(mask.point(lambda v: v * 0.45), (left + side // 40, top + side // 30))
    shadow = ImageChops.lighter(shadow, drop).filter(ImageFilter.GaussianBlur(side / 40))
    picture.paste(_mix(colour, (0, 0, 0), 0.65), (0, 0), shadow)

    # the body: light from the left, falling off to the right
    light, dark = _mix(colour, (255, 255, 255), 0.28), _mix(colour, (0, 0, 0), 0.32)
    row = Image.new("RGB", (side, 1))
    for x in range(side):
        t = x / (side - 1)
        row.putpixel((x, 0), _mix(light, dark, min(1.0, max(0.0, (t - 0.25) * 1.6))))
    body = row.resize((side, side))
    detail_layer = ImageDraw.Draw(body)
    for method, shape, amount in details:
        tone = _mix(colour, (0, 0, 0), amount) if amount > 0 else _mix(
            colour, (255, 255, 255), -amount)
        ratio = side / (UNIT * 2)  # details are given on the doubled canvas
        scaled = ([(x * ratio, y * ratio) for x, y in shape] if method == "polygon"
                  else tuple(v * ratio for v in shape))
        if method == "chord":
            detail_layer.chord(scaled, start=0, end=180, fill=tone)
        elif method == "rounded_rectangle":
            detail_layer.rounded_rectangle(scaled, radius=side // 50, fill=tone)
        else:
            getattr(detail_layer, method)(scaled, fill=tone)
    picture.paste(body, (left, top), mask)

    # a highlight: a blurred pale stripe down the lit side, inside the shape only
    stripe = Image.new("L", (side, side), 0)
    ImageDraw.Draw(stripe).rounded_rectangle(
        (side * 0.33, side * 0.12, side * 0.40, side * 0.88), radius=side // 40, fill=150)
    stripe = ImageChops.multiply(stripe.filter(ImageFilter.GaussianBlur(side / 45)), mask)
    picture.paste((255, 255, 255), (left, top), stripe)
    return picture


def _upload(image: Image.Image, name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=86, optimize=True, progressive=True)
    return SimpleUploadedFile(f"{name}.jpg", buffer.getvalue(), content_type="image/jpeg")


def product_picture(colour: RGB, kind: str, name: str) -> SimpleUploadedFile:
    """An 800×800 product shot."""
    return _upload(_shot((800, 800), colour, kind), name)


def category_picture(colour: RGB, kind: str, name: str) -> SimpleUploadedFile:
    """A 240×240 icon of the category's kind of goods."""
    return _upload(_shot((240, 240), colour, kind), name)


def banner_picture(colour: RGB, kind: str, name: str) -> SimpleUploadedFile:
    """A 1200×600 banner: the product to the right on a deeper studio gradient."""
    deep = _mix(colour, (0, 0, 0), 0.15)
    picture = _shot((1200, 600), deep, kind, offset_x=0.22)
    # broad soft circles of the brand colour on the left, where a title would sit
    glow = Image.new("L", picture.size, 0)
    draw = ImageDraw.Draw(glow)
    draw.ellipse((-160, -200, 520, 480), fill=110)
    draw.ellipse((120, 300, 560, 740), fill=70)
    picture.paste(_mix(colour, (255, 255, 255), 0.35), (0, 0),
                  glow.filter(ImageFilter.GaussianBlur(40)))
    return _upload(picture, name)
