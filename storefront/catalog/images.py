"""Checking uploaded images, re-encoding them, and making thumbnails with Pillow.

Uploads are never trusted: the size is capped before decoding (`UPLOAD_MAX_IMAGE_BYTES`),
the format is read from the bytes (not the file name or the declared content type), the
pixel count is capped against decompression bombs, and the whole file is decoded once so a
truncated file is refused. What is stored is never the client's file but the decoded pixels
encoded again in the same format, upright: EXIF (the phone's GPS position, its serial
number), XMP, comments and text chunks are gone, the EXIF orientation is applied.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from PIL import Image, ImageOps, UnidentifiedImageError

from storefront.catalog.errors import ImageInvalid

MAX_IMAGE_PIXELS = 40_000_000
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
THUMBNAIL_SIZE = (400, 400)
# Pillow's encoder options per format; metadata is never passed on, except the colour
# profile (without it colours shift) and PNG's transparency.
_ENCODE = {
    "JPEG": {"quality": 90, "optimize": True},
    "PNG": {},
    "WEBP": {"quality": 90, "method": 4},
}


def max_image_bytes() -> int:
    return settings.UPLOAD_MAX_IMAGE_BYTES


def size_label(size_bytes: int) -> str:
    """5242880 -> "5 MB", 1536000 -> "1.5 MB": limits as people read them."""
    return f"{size_bytes / 2**20:.1f}".removesuffix(".0") + " MB"


@dataclass(frozen=True)
class CheckedImage:
    content: bytes
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return ALLOWED_FORMATS[self.format]

    def as_file(self) -> ContentFile:
        """The re-encoded bytes under a fresh name: the client's file name is never used."""
        return ContentFile(self.content, name=f"{uuid.uuid4().hex}.{self.extension}")


def _refuse(field: str, message: str) -> ImageInvalid:
    return ImageInvalid(message, fields={field: [message]})


def image_check(*, upload, field: str = "image") -> CheckedImage:
    """Read, verify and re-encode an uploaded file; raise ImageInvalid (400) naming
    `field`."""
    if upload is None:
        raise _refuse(field, "Choose an image to upload.")
    cap = max_image_bytes()
    too_large = f"The image is larger than {size_label(cap)}."
    size = getattr(upload, "size", None)
    if size is not None and size > cap:
        raise _refuse(field, too_large)
    upload.seek(0)
    content = upload.read(cap + 1)
    if len(content) > cap:
        raise _refuse(field, too_large)
    if not content:
        raise _refuse(field, "The file is empty.")
    try:
        with Image.open(BytesIO(content)) as probe:
            image_format = probe.format
            width, height = probe.size
            if image_format not in ALLOWED_FORMATS:
                raise _refuse(field, "Upload a JPEG, PNG or WebP image.")
            if width * height > MAX_IMAGE_PIXELS:
                raise _refuse(field, "The image has too many pixels.")
            probe.verify()
        # verify() leaves the image unusable; decode it fully once to catch truncation.
        with Image.open(BytesIO(content)) as decoded:
            decoded.load()
            clean = _reencoded(decoded, image_format)
    except ImageInvalid:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError) as exc:
        raise _refuse(field, "The file is not a valid JPEG, PNG or WebP image.") from exc
    return CheckedImage(content=clean.content, format=image_format, width=clean.width,
                        height=clean.height)


@dataclass(frozen=True)
class _Encoded:
    content: bytes
    width: int
    height: int


def _reencoded(image: Image.Image, image_format: str) -> _Encoded:
    """The pixels alone (the first frame of an animation), turned upright and encoded again
    in `image_format`, with no metadata but the colour profile."""
    upright = ImageOps.exif_transpose(image)
    icc_profile = upright.info.get("icc_profile")
    kept = {"transparency": upright.info["transparency"]} if (
        image_format == "PNG" and "transparency" in upright.info) else {}
    upright.info = kept  # nothing else of the original's info reaches the encoder
    options = dict(_ENCODE[image_format], exif=b"")
    if icc_profile:
        options["icc_profile"] = icc_profile
    out = BytesIO()
    upright.save(out, image_format, **options)
    return _Encoded(content=out.getvalue(), width=upright.width, height=upright.height)


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """JPEG has no alpha: transparent pixels become white, not black."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def image_fit(*, checked: CheckedImage, size: tuple[int, int] = THUMBNAIL_SIZE) -> ContentFile:
    """A JPEG of exactly `size`, cropped to the centre (`ImageOps.fit`), EXIF rotation applied."""
    with Image.open(BytesIO(checked.content)) as source:
        upright = ImageOps.exif_transpose(source)
        fitted = ImageOps.fit(_flatten_to_rgb(upright), size, Image.Resampling.LANCZOS)
    out = BytesIO()
    fitted.save(out, "JPEG", quality=85, optimize=True)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.jpg")


# --- renditions: each picture at the size of the place it is shown ---------------------------
#
# A phone should download the pixels it shows, not the merchant's 4,000-pixel photo. Every
# place a picture appears has a slot below, sized in device pixels for a phone screen at 2x
# (the CSS size doubled). Each stored picture gets, per slot, a WebP (what every current
# phone browser and WeChat's take, about a third smaller) and a JPEG (for the rest), at a
# name derived from the original's: products/ab12.png -> renditions/tile/products/ab12.webp.
# Originals are stored under fresh uuid names and never overwritten, so a rendition never
# goes stale and may be cached for good (Cache-Control immutable, README § Media).

log = logging.getLogger(__name__)

RENDITIONS: dict[str, tuple[int, int]] = {
    "tile": (360, 360),  # product tiles, two per row (about 180 CSS px each)
    "gallery": (750, 750),  # the product page's gallery, the screen's full width
    "banner": (750, 375),  # home banners, 2:1 across the screen
    "line": (144, 144),  # cart, checkout and order rows (72 CSS px)
    "icon": (96, 96),  # category icons (48 CSS px)
}
# Made at upload for a product picture (the demo seed goes through the same call); any other
# picture, and any made before renditions existed, gets its slot on first display.
PRODUCT_SLOTS = ("tile", "gallery", "line")
_QUALITY = {"WEBP": {"quality": 80, "method": 6}, "JPEG": {"quality": 82, "optimize": True,
                                                          "progressive": True}}
_FORMATS = (("WEBP", "webp"), ("JPEG", "jpg"))  # the JPEG last: its presence means both are there
# Renditions known to exist (and originals found unreadable), per media root and schema:
# files are never removed or replaced, so each is checked on disk once per process (and
# again after the set is emptied at its cap, to bound its memory).
_known: set[tuple[str, str, str]] = set()
_KNOWN_CAP = 200_000


def _known_key(name: str, *, unreadable: bool = False) -> tuple[str, str, str]:
    return (str(settings.MEDIA_ROOT), connection.schema_name, f"!{name}" if unreadable else name)


@dataclass(frozen=True)
class Rendition:
    webp_url: str
    jpeg_url: str
    width: int
    height: int


def rendition_name(name: str, slot: str, extension: str) -> str:
    """products/ab12.png -> renditions/<slot>/products/ab12.<extension>."""
    stem = PurePosixPath(name).with_suffix("")
    return f"renditions/{slot}/{stem}.{extension}"


def rendition_names(name: str) -> list[str]:
    """Every rendition a stored picture may have (to remove them with it)."""
    return [rendition_name(name, slot, ext) for slot in RENDITIONS for _, ext in _FORMATS]


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = BytesIO()
    image.save(out, image_format, **_QUALITY[image_format])
    return out.getvalue()


def _save_exactly(name: str, content: bytes) -> None:
    """Write `name` unless it is there; two processes making it at once keep one copy."""
    if default_storage.exists(name):
        return
    saved = default_storage.save(name, ContentFile(content))
    if saved != name:  # another process won the race: its copy is the same picture
        default_storage.delete(saved)


def renditions_make(name: str, slots=tuple(RENDITIONS)) -> bool:
    """Write the WebP and JPEG of `name` (a stored picture of the current mall) for each of
    `slots` that is missing; False when the original cannot be read (then nothing is made)."""
    missing = [slot for slot in slots
               if not default_storage.exists(rendition_name(name, slot, "jpg"))]
    if missing:
        try:
            with default_storage.open(name, "rb") as handle:
                content = handle.read()  # stored pictures were checked when uploaded
            with Image.open(BytesIO(content)) as source:
                if source.width * source.height > MAX_IMAGE_PIXELS:
                    return False
                source.draft("RGB", max(RENDITIONS[slot] for slot in missing))
                upright = _flatten_to_rgb(ImageOps.exif_transpose(source))
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError,
                ValueError):
            log.warning("picture %s cannot be read: no renditions", name)
            _known.add(_known_key(name, unreadable=True))  # said once per process
            return False
        for slot in missing:
            fitted = ImageOps.fit(upright, RENDITIONS[slot], Image.Resampling.LANCZOS)
            for image_format, extension in _FORMATS:
                _save_exactly(rendition_name(name, slot, extension), _encode(fitted, image_format))
    if len(_known) > _KNOWN_CAP:
        _known.clear()
    for slot in slots:
        _known.add(_known_key(rendition_name(name, slot, "jpg")))
    return True


def rendition_get(name: str, slot: str) -> Rendition | None:
    """The URLs of `name`'s picture for `slot`, made now if it has none yet; None when the
    original cannot be read (the caller shows the original)."""
    width, height = RENDITIONS[slot]
    jpeg = rendition_name(name, slot, "jpg")
    if _known_key(jpeg) not in _known and (
            _known_key(name, unreadable=True) in _known or not renditions_make(name, (slot,))):
        return None
    return Rendition(webp_url=default_storage.url(rendition_name(name, slot, "webp")),
                     jpeg_url=default_storage.url(jpeg), width=width, height=height)
