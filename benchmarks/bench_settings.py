"""Settings for the benchmarks only: the production settings, with a URLconf that adds a bare
view (`/bench/bare`) on every mall host as the baseline of what the stack itself costs.

Never used outside benchmarks/: production URLs do not have that view.
"""

from control_plane.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.bench_urls"
