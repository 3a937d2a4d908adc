"""Production defaults (DEBUG off): HTTPS redirect with /healthz exempt, no wildcard trusted
origin, gunicorn trusting forwarded headers from configured peers only."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import host_client

ROOT = Path(__file__).resolve().parent.parent.parent

_PRINT_SETTINGS = (
    "import json; from control_plane import settings as s; print(json.dumps({"
    "'SECURE_SSL_REDIRECT': s.SECURE_SSL_REDIRECT, "
    "'SECURE_REDIRECT_EXEMPT': s.SECURE_REDIRECT_EXEMPT, "
    "'CSRF_TRUSTED_ORIGINS': s.CSRF_TRUSTED_ORIGINS, "
    "'TRUSTED_PROXY_COUNT': s.TRUSTED_PROXY_COUNT, "
    "'NUM_PROXIES': s.REST_FRAMEWORK['NUM_PROXIES'], "
    "'AXES_FAILURE_LIMIT': s.AXES_FAILURE_LIMIT}))"
)


def production_settings(**environment: str) -> dict:
    """The settings as a production process would read them: a fresh interpreter with only
    the variables a deploy sets (no embedded servers start: both URLs are given)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": "postgres://mall@db.internal/mall",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "SECRET_KEY": "production-settings-test",
        "SECRETS_ENCRYPTION_KEYS": "g2Hs3_01ID-5okGr9YU3LJwIv9UZjKUq4OAOvjDN-Uo=",
        "PLATFORM_DOMAIN": "mall.example.com",
        "DEBUG": "0",  # explicit: a developer's .env beside manage.py must not turn it on
        **environment,
    }
    result = subprocess.run(
        [sys.executable, "-c", _PRINT_SETTINGS], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_defaults():
    values = production_settings()
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_REDIRECT_EXEMPT"] == [r"^healthz$"]
    assert values["CSRF_TRUSTED_ORIGINS"] == []
    assert values["TRUSTED_PROXY_COUNT"] == values["NUM_PROXIES"] == 0
    assert values["AXES_FAILURE_LIMIT"] == 6


def test_configured_values_win():
    values = production_settings(
        SECURE_SSL_REDIRECT="0", TRUSTED_PROXY_COUNT="2", LOGIN_FAILURE_LIMIT="10",
        CSRF_TRUSTED_ORIGINS="https://pay.example.com",
    )
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://pay.example.com"]
    assert values["TRUSTED_PROXY_COUNT"] == values["NUM_PROXIES"] == 2
    assert values["AXES_FAILURE_LIMIT"] == 10


def test_debug_does_not_redirect():
    assert production_settings(DEBUG="1")["SECURE_SSL_REDIRECT"] is False


@pytest.mark.django_db
def test_http_is_redirected_but_the_health_probe_answers(settings):
    settings.SECURE_SSL_REDIRECT = True
    browser = Client(HTTP_HOST="localhost")  # built after the setting: its middleware reads it

    assert browser.get("/signup/").status_code == 301
    assert browser.get("/signup/")["Location"] == "https://localhost/signup/"
    assert browser.get("/healthz").status_code in (200, 503)  # answers, whatever it reports
    assert browser.get("/signup/", secure=True).status_code == 200


@pytest.mark.django_db
def test_a_mall_accepts_its_own_posts_and_refuses_another_malls_origin(two_merchants):
    from django.db import connection

    alpha, beta = (result.merchant for result in two_merchants)
    connection.set_tenant(alpha)
    host = alpha.primary_host.split(":")[0]
    beta_origin = f"http://{beta.primary_host}"

    def post_sign_in(origin: str, **extra):
        client = host_client(alpha)
        client.handler.enforce_csrf_checks = True
        client.get("/console/login/", **extra)
        token = client.cookies["csrftoken"].value
        return client.post(
            "/console/login/", {"username": "owner@example.com", "password": "wrong",
                                "csrfmiddlewaretoken": token},
            HTTP_ORIGIN=origin, **extra,
        )

    assert post_sign_in(f"http://{host}").status_code == 200  # the form again, not a 403
    assert post_sign_in(f"https://{host}", secure=True).status_code == 200
    assert post_sign_in(beta_origin).status_code == 403
    connection.set_schema_to_public()


def test_gunicorn_trusts_forwarded_headers_from_configured_peers_only(monkeypatch):
    from gunicorn.config import Config

    import control_plane.gunicorn_conf as conf

    def resolved() -> list[str]:
        config = Config()
        config.set("forwarded_allow_ips", importlib.reload(conf).forwarded_allow_ips)
        return config.forwarded_allow_ips

    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert resolved() == ["127.0.0.1"]
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8,192.0.2.1")
    assert resolved() == ["10.0.0.0/8", "192.0.2.1"]
    monkeypatch.delenv("FORWARDED_ALLOW_IPS")
    importlib.reload(conf)


@pytest.mark.parametrize(
    "path", ["Dockerfile", "control_plane/devserver.py", "benchmarks/_common.py"]
)
def test_every_gunicorn_of_the_platform_reads_that_configuration(path):
    text = (ROOT / path).read_text()
    assert "--forwarded-allow-ips" not in text
    assert re.search(r'"--config",\s*"python:control_plane\.gunicorn_conf"', text)
