"""Checking uploaded images and making thumbnails with Pillow.

Uploads are never trusted: the size is capped before decoding, the format is read from the
bytes (not the file name or the declared content type), the pixel count is capped against
decompression bombs, and the whole file is decoded once so a truncated file is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from io import BytesIO

from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from storefront.catalog.errors import ImageInvalid

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
THUMBNAIL_SIZE = (400, 400)


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
        """The original bytes under a fresh name: the client's file name is never used."""
        return ContentFile(self.content, name=f"{uuid.uuid4().hex}.{self.extension}")


def _refuse(field: str, message: str) -> ImageInvalid:
    return ImageInvalid(message, fields={field: [message]})


def image_check(*, upload, field: str = "image") -> CheckedImage:
    """Read and verify an uploaded file; raise ImageInvalid (400) naming `field`."""
    if upload is None:
        raise _refuse(field, "Choose an image to upload.")
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_IMAGE_BYTES:
        raise _refuse(field, "The image is larger than 5 MB.")
    upload.seek(0)
    content = upload.read(MAX_IMAGE_BYTES + 1)
    if len(content) > MAX_IMAGE_BYTES:
        raise _refuse(field, "The image is larger than 5 MB.")
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
    except ImageInvalid:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError) as exc:
        raise _refuse(field, "The file is not a valid JPEG, PNG or WebP image.") from exc
    return CheckedImage(content=content, format=image_format, width=width, height=height)


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
