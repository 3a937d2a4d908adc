"""Settings for `make test`: the production settings, with the test run's own embedded
PostgreSQL and Redis under .data/test (never the data of `make run`)."""

import os
from pathlib import Path

os.environ.setdefault("DATA_DIR", str(Path(__file__).resolve().parent.parent / ".data" / "test"))
os.environ.setdefault("SIGNUP_THROTTLE_RATE", "")
os.environ.setdefault("PLATFORM_DOMAIN", "localhost:8000")
os.environ.setdefault("PLATFORM_SCHEME", "http")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
# The production settings, not the laptop's: secure cookies, no console shortcuts.
os.environ.setdefault("DEBUG", "0")
# The test client and the browser tests' live server speak plain HTTP (the redirect's
# default is tested in tests/control_plane/test_production_settings.py).
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# Static files under their plain names, from the source folders: the suite runs no
# collectstatic (tests/control_plane/test_static_files.py collects into its own folder to
# test the hashed names and their cache headers).
os.environ.setdefault("STATIC_HASHED", "0")
os.environ.setdefault("SECRETS_ENCRYPTION_KEYS", "g2Hs3_01ID-5okGr9YU3LJwIv9UZjKUq4OAOvjDN-Uo=")

from control_plane.settings import *  # noqa: E402, F403

# WhiteNoise serves the source folders, as under `make run`: the browser tests' live server
# needs htmx and ECharts, and with the staticfiles app subclassed (control_plane/staticfiles.py)
# pytest-django's live server no longer serves them itself.
WHITENOISE_USE_FINDERS = True

# Hashing strength is not under test; signup latency in tests is.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests read English unless they ask for Chinese (tests/control_plane/test_i18n.py does);
# the product's own default stays zh-hans.
LANGUAGE_CODE = "en"
