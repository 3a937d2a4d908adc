"""Static files in production: collectstatic writes content-hashed names with gzip and Brotli
variants, and WhiteNoise serves a hashed name with a far-future, immutable Cache-Control (the
plain name is not kept). Collected here into the test's own folder, from one small source
folder, so the suite needs no collectstatic of its own."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import call_command
from django.templatetags.static import static
from django.test import RequestFactory, override_settings
from whitenoise.middleware import WhiteNoiseMiddleware

SOURCE = Path(__file__).resolve().parents[2] / "storefront" / "static"
HASHED = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}


def _serve(path: str, **headers):
    middleware = WhiteNoiseMiddleware(lambda request: None)
    return middleware(RequestFactory().get(path, **headers))


def test_hashed_names_are_served_compressed_with_far_future_cache(tmp_path, settings):
    root = tmp_path / "static"
    with override_settings(
        STATIC_ROOT=root, STATICFILES_DIRS=[SOURCE],
        STATICFILES_FINDERS=["django.contrib.staticfiles.finders.FileSystemFinder"],
        STORAGES={**settings.STORAGES, "staticfiles": HASHED}, WHITENOISE_USE_FINDERS=False,
        WHITENOISE_AUTOREFRESH=False,
    ):
        call_command("collectstatic", "--noinput", verbosity=0)
        url = static("storefront/distribution.js")
        assert re.fullmatch(r"/static/storefront/distribution\.[0-9a-f]{12}\.js", url), url
        assert {p.name.removeprefix(Path(url).name) for p in
                (root / "storefront").glob(Path(url).name + "*")} == {"", ".gz", ".br"}

        response = _serve(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        assert response.status_code == 200
        assert response["Cache-Control"] == "max-age=315360000, public, immutable"
        assert response["Content-Encoding"] == "br"
        assert response["Vary"] == "Accept-Encoding"
        assert int(response["Content-Length"]) < (SOURCE / "storefront" / "distribution.js"
                                                  ).stat().st_size / 2
        # the plain name is gone: a page can only reach a file through its hashed name
        assert _serve("/static/storefront/distribution.js") is None


def test_the_image_build_collects_every_file_the_templates_name(tmp_path, settings):
    """What the Dockerfile runs: collectstatic over every finder. It must succeed (a file
    naming a source map that was left out fails the hashing step), and every
    {% static "…" %} in the templates must have a hashed name (a missing one is a 500 in
    production)."""
    root = tmp_path / "static"
    templates = Path(__file__).resolve().parents[2] / "templates"
    named = {
        match.group(1)
        for path in templates.rglob("*.html")
        for match in re.finditer(r"""{%\s*static\s+['"]([^'"]+)['"]""", path.read_text())
    }
    assert "vendor/htmx/htmx.min.js" in named
    with override_settings(STATIC_ROOT=root,
                           STORAGES={**settings.STORAGES, "staticfiles": HASHED}):
        call_command("collectstatic", "--noinput", verbosity=0)
        for name in sorted(named):
            assert re.search(r"\.[0-9a-f]{12}\.", static(name)), name
    assert not list(root.rglob("echarts.esm*"))  # npm's extras are left out
