from django.apps import AppConfig


class ScaleBenchConfig(AppConfig):
    name = "benchmarks.scalebench"
    label = "scalebench"
    default_auto_field = "django.db.models.BigAutoField"
