"""Settings for benchmarks/tenancy_scale.py only: the production settings plus the throwaway
tenant app `benchmarks.scalebench`, whose migrations the benchmark steps through with
SCALE_BENCH_MIGRATIONS (v1: a table, v2: + one column, v3: + another column).

Never used outside benchmarks/."""

import os

from control_plane.settings import *  # noqa: F403
from control_plane.settings import INSTALLED_APPS, TENANT_APPS

TENANT_APPS = [*TENANT_APPS, "benchmarks.scalebench"]
INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.scalebench"]
MIGRATION_MODULES = {
    "scalebench": "benchmarks.scalebench.migrations_"
    + os.environ.get("SCALE_BENCH_MIGRATIONS", "v1")
}
