"""The Celery app. tenant-schemas-celery stamps each message with the schema it was queued
in and switches the worker to that schema before the task runs."""

import os

from celery.signals import task_prerun
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "control_plane.settings")

app = CeleryApp("mall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(weak=False)
def _tag_sentry_with_schema(task=None, **kwargs):
    """Runs after tenant-schemas-celery's own task_prerun handler has switched schema."""
    import sentry_sdk
    from django.db import connection

    sentry_sdk.set_tag("tenant_schema", connection.schema_name)
