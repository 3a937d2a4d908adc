"""Checking uploaded images, re-encoding them, and making thumbnails with Pillow.

Uploads are never trusted: the size is capped before decoding (`UPLOAD_MAX_IMAGE_BYTES`),
the format is read from the bytes (not the file name or the declared content type), the
pixel count is capped against decompression bombs, and the whole file is decoded once so a
truncated file is refused. What is stored is never the client's file but the decoded pixels
encoded again in the same format, upright: EXIF (the phone's GPS position, its serial
number), XMP, comments and text chunks are gone, the EXIF orientation is applied.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from django.core.files.base import ContentFile
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
