"""Serving a mall's uploads in development, only from that mall's own media folder.

Uploads live at MEDIA_ROOT/<schema>/… and are addressed /media/<schema>/… (django-tenants'
TenantFileSystemStorage); a mall's host never serves another schema's files.
"""

from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import Http404
from django.views.static import serve

# Every upload is stored under a fresh uuid name and never overwritten (renditions are named
# after their original), so a file's URL always means the same bytes: browsers may keep it
# for good. Production's nginx or object storage sends the same header (README § Media).
IMMUTABLE = "public, max-age=31536000, immutable"


def serve_tenant_media(request, schema, path):
    if schema != connection.schema_name:
        raise Http404("No such file.")
    response = serve(request, path, document_root=str(Path(settings.MEDIA_ROOT) / schema))
    response["Cache-Control"] = IMMUTABLE
    return response
