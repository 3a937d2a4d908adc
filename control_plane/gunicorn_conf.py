"""gunicorn's settings that come from the environment, given to every gunicorn that serves
the platform (`--config python:control_plane.gunicorn_conf`: the Dockerfile, `make run`, the
benchmarks). Command-line flags still override what is set here."""

import os

# The peers whose X-Forwarded-Proto (and other secure-scheme headers) gunicorn believes: the
# load balancer's addresses or networks, comma-separated. Never "*", which lets any client
# that reaches gunicorn claim HTTPS.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
