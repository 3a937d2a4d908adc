"""Per-tenant media storage (MEDIA_ROOT/<schema>/…)."""

from django.core.files.storage import FileSystemStorage
from django_tenants.files.storage import TenantFileSystemStorage


class MallMediaStorage(TenantFileSystemStorage):
    """django-tenants 4.0.1 keeps its cached root when MEDIA_ROOT changes (and hands the
    settings object to the parent instead of the setting's name), so a changed MEDIA_ROOT
    would still write to the old place."""

    def _clear_cached_properties(self, setting, **kwargs):
        FileSystemStorage._clear_cached_properties(self, setting, **kwargs)
        if setting in ("MEDIA_ROOT", "MULTITENANT_RELATIVE_MEDIA_ROOT"):
            self.__dict__.pop("relative_media_root", None)
