"""`make run`: the whole platform on one machine, offline.

Starts (or reuses) the embedded PostgreSQL and Redis, migrates, builds the tenant template,
seeds the demo merchant and a platform admin, then runs gunicorn, a Celery worker and Celery
beat until Ctrl-C, when it stops all of them and the embedded servers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from control_plane import embedded

PROJECT_DIR = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("PORT", "8000"))
WECHAT_SIM_PORT = int(os.environ.get("WECHAT_SIM_PORT", "8001"))
STRIPE_SIM_PORT = int(os.environ.get("STRIPE_SIM_PORT", "8002"))
ADMIN_EMAIL = os.environ.get("PLATFORM_ADMIN_EMAIL", "admin@localhost")
ADMIN_PASSWORD = os.environ.get("PLATFORM_ADMIN_PASSWORD", "admin-8000")


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_DIR, check=True)


def _spawn(name: str, argv: list[str]) -> subprocess.Popen:
    print(f"[run] starting {name}", flush=True)
    # Own process group, so Ctrl-C reaches only us and we stop the children in order.
    return subprocess.Popen(argv, cwd=PROJECT_DIR, start_new_session=True)


def _wait_for(url: str, timeout: float = 20.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local URL
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _start_wechat_simulator(bin_dir: Path) -> subprocess.Popen:
    """The local WeChat (OAuth, Pay v3, callbacks) and the environment that points the
    platform at it: the same variables production sets for the real WeChat."""
    from simulators.wechat import SimulatorConfig
    from simulators.wechat.platform_env import platform_environment, sub_merchants

    state_dir = embedded.data_dir() / "wechat-sim"
    public_url = f"http://localhost:{WECHAT_SIM_PORT}"
    SimulatorConfig.load_or_create(state_dir)  # keys exist before either side reads them
    os.environ.update(WECHAT_SIM_STATE_DIR=str(state_dir), WECHAT_SIM_PUBLIC_URL=public_url)
    process = _spawn("wechat-simulator", [
        str(bin_dir / "gunicorn"), "simulators.wechat.server:from_environment()",
        "--bind", f"127.0.0.1:{WECHAT_SIM_PORT}", "--workers", "1", "--threads", "8",
        "--log-level", "warning",
    ])
    _wait_for(f"{public_url}/_sim/credentials")
    for name, value in platform_environment(state_dir, public_url).items():
        os.environ.setdefault(name, value)
    demo_sub_merchant = sub_merchants(state_dir)[0]
    os.environ.setdefault("DEMO_SUB_MCHID", demo_sub_merchant["sub_mchid"])
    os.environ.setdefault("DEMO_SUB_APPID", demo_sub_merchant["sub_appid"])
    return process


def _start_stripe_simulator(bin_dir: Path) -> subprocess.Popen:
    """The local Stripe (prices, Checkout, portal, renewals) with the platform's webhook
    endpoint registered at start, and the three settings production sets for the real
    Stripe. A key already in the environment is the one the stand-in accepts."""
    from simulators.stripe import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET

    public_url = f"http://localhost:{STRIPE_SIM_PORT}"
    api_key = os.environ.setdefault("STRIPE_SECRET_KEY", DEFAULT_API_KEY)
    webhook_secret = os.environ.setdefault("STRIPE_WEBHOOK_SECRET", DEFAULT_WEBHOOK_SECRET)
    os.environ.setdefault("STRIPE_API_BASE", public_url)
    os.environ.update(
        STRIPE_SIM_API_KEY=api_key,
        STRIPE_SIM_WEBHOOK_SECRET=webhook_secret,
        STRIPE_SIM_WEBHOOK_URL=f"http://localhost:{PORT}/billing/stripe/webhook/",
        STRIPE_SIM_PUBLIC_URL=public_url,
        # Kept across restarts, like the database that holds the Stripe ids.
        STRIPE_SIM_STATE_FILE=str(embedded.data_dir() / "stripe-sim" / "state.json"),
    )
    process = _spawn("stripe-simulator", [
        str(bin_dir / "gunicorn"), "simulators.stripe.server:from_environment()",
        "--bind", f"127.0.0.1:{STRIPE_SIM_PORT}", "--workers", "1", "--threads", "8",
        "--log-level", "warning",
    ])
    _wait_for(f"{public_url}/_sim/settings")
    return process


def main() -> int:
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("PLATFORM_DOMAIN", f"localhost:{PORT}")
    embedded.ensure_services()
    bin_dir = Path(sys.executable).parent
    simulator = _start_wechat_simulator(bin_dir)
    stripe_simulator = _start_stripe_simulator(bin_dir)

    _manage("migrate_platform", "--no-refill")
    _manage("create_platform_admin", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    _manage("seed_demo")
    # The plans' Stripe prices, found by lookup key (kept when they exist already).
    _manage("billing_sync_prices")

    beat_schedule = embedded.data_dir() / "celerybeat-schedule"
    children = [
        simulator,
        stripe_simulator,
        _spawn("web", [
            str(bin_dir / "gunicorn"), "control_plane.wsgi:application",
            "--config", "python:control_plane.gunicorn_conf",
            "--bind", f"0.0.0.0:{PORT}", "--workers", "2", "--threads", "4",
            "--access-logfile", "-", "--graceful-timeout", "5",
        ]),
        _spawn("worker", [
            str(bin_dir / "celery"), "-A", "control_plane", "worker", "--loglevel", "INFO",
            "--concurrency", "2", "--hostname", "worker@%h",
        ]),
        _spawn("beat", [
            str(bin_dir / "celery"), "-A", "control_plane", "beat", "--loglevel", "INFO",
            "--schedule", str(beat_schedule),
        ]),
    ]
    print(
        "\n"
        f"  Platform (signup):  http://localhost:{PORT}/\n"
        f"  Platform admin:     http://localhost:{PORT}/admin/"
        f"  ({ADMIN_EMAIL} / {ADMIN_PASSWORD})\n"
        f"  Demo mall:          http://demo.localhost:{PORT}/\n"
        f"  Demo console:       http://demo.localhost:{PORT}/console/\n"
        f"  API docs:           http://localhost:{PORT}/api/docs/"
        f"  (a mall's own: http://demo.localhost:{PORT}/api/docs/)\n"
        f"  WeChat simulator:   http://localhost:{WECHAT_SIM_PORT}/_sim/"
        "  (cashier, test users, messages, callbacks)\n"
        f"  Stripe stand-in:    http://localhost:{STRIPE_SIM_PORT}/_sim/"
        "  (subscriptions, renew now, invoices, webhook deliveries)\n"
        f"  WeChat 进件 review:  http://localhost:{WECHAT_SIM_PORT}/_sim/applyments"
        "  (move the demo owner's application along, sign it)\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )

    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                print(f"[run] a process exited with {child.returncode}; stopping", flush=True)
                stopping, exit_code = True, 1
        time.sleep(0.5)

    print("[run] stopping...", flush=True)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
    embedded.stop_services()
    print("[run] stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
