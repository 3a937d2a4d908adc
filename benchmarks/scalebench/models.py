from django.db import models


class Probe(models.Model):
    """One small table per mall; migrations_v2 and v3 each add one column to it."""

    name = models.CharField(max_length=40)
