"""The project's domain-error base: every domain app raises a subclass with a stable code.

One DRF handler (control_plane.api_errors) and the page views turn these into responses;
callers catch only the narrow subclasses they can handle.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused business operation. `status` is the HTTP status a face should answer."""

    code = "error"
    status = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, fields: dict[str, list[str]] | None = None):
        self.message = message or self.default_message
        self.fields = fields or {}
        super().__init__(self.message)


class InvalidInput(DomainError):
    code = "invalid"
    status = 400
    default_message = "Some fields are not valid."


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."
