"""The first upload handler: a multipart body larger than `UPLOAD_MAX_REQUEST_BYTES` is
refused from its Content-Length, before a byte of it is read into memory or a temporary
file. Django reads no further than the Content-Length, so nothing larger gets in.

The API answers the refusal as JSON (control_plane.api_errors); pages with Django's 400.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler

from storefront.catalog.images import size_label


class UploadTooLarge(RequestDataTooBig):
    pass


class RequestSizeCapHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        cap = settings.UPLOAD_MAX_REQUEST_BYTES
        if content_length > cap:
            raise UploadTooLarge(f"The upload is larger than {size_label(cap)}.")

    def receive_data_chunk(self, raw_data, start):
        return raw_data  # for the next handler

    def file_complete(self, file_size):
        return None  # the next handler makes the file
