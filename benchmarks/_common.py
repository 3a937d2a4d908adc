"""Plumbing shared by the benchmark scripts: a free port, Django booted on its own embedded
PostgreSQL and Redis (and both reliably stopped), gunicorn started the way `make run` starts
it, merchants created straight through the provisioning code, wrk driven over many requests
by a Lua script, and a monitor of where the CPU goes during a measurement.

Import this module before anything from Django: it puts the project on sys.path, and
`boot_django` sets the environment before Django reads its settings.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

PROJECT_DIR = Path(__file__).resolve().parent.parent
# First, before benchmarks/ (the script's own directory): benchmarks/storefront.py would
# otherwise shadow the `storefront` package.
sys.path.insert(0, str(PROJECT_DIR))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def boot_django(
    data_dir: Path, env: dict[str, str], *, settings_module: str = "control_plane.settings"
) -> None:
    """Wipe `data_dir`, point the embedded servers at it, set `env`, set Django up and run
    `migrate_platform --no-refill` (public schema and tenant template, no spare schemas).

    DJANGO_SETTINGS_MODULE is only a default: put it in `env` to force it.
    """
    shutil.rmtree(data_dir, ignore_errors=True)
    os.environ.update(DATA_DIR=str(data_dir), **env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_platform", "--no-refill", verbosity=0)


def start_gunicorn(
    port: int,
    *,
    app: str = "control_plane.wsgi:application",
    workers: int = 2,
    threads: int = 4,
    extra_args: tuple[str, ...] = (),
) -> subprocess.Popen:
    """gunicorn as `make run` runs it (2 workers × 4 threads), on 127.0.0.1 only, with the
    current environment (so it joins this process's embedded PostgreSQL and Redis). Returns
    once /healthz on the platform host answers at all."""
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), app,
         "--config", "python:control_plane.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
         "--log-level", "warning", *extra_args],
        cwd=PROJECT_DIR, env=os.environ.copy(),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            # any answer will do; /healthz pings Celery (0.5 s) and is slow on a busy machine
            if requests.get(f"http://localhost:{port}/healthz", timeout=10).status_code < 600:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    stop_gunicorn(process)
    raise RuntimeError("gunicorn did not come up")


def stop_gunicorn(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def stop_services() -> None:
    """Stop the embedded PostgreSQL and Redis this process started."""
    from control_plane import embedded

    embedded.stop_services()


def add_tenants(
    target: int, created: int, *, slug_for: Callable[[int], str] = "existing-{:05d}".format
) -> int:
    """Create merchants directly through the provisioning code (no HTTP, no owner account),
    numbered from `created` up to `target`; returns the new count. Each one clones the
    tenant template (about a second on this machine)."""
    from django.conf import settings
    from django.db import transaction

    from billing.models import Plan
    from tenants import provisioning
    from tenants.models import Domain, Merchant
    from tenants.slugs import schema_name_for

    plan = Plan.objects.get(is_default=True)
    while created < target:
        slug = slug_for(created)
        with transaction.atomic():
            merchant = Merchant.objects.create(
                schema_name=schema_name_for(slug), name=slug, slug=slug, plan=plan,
                owner_email="owner@example.com",
            )
            Domain.objects.create(domain=f"{slug}.{settings.PLATFORM_HOST}", tenant=merchant)
            provisioning.provision_schema(merchant.schema_name)
        created += 1
    return created


SIGNUP_PASSWORD = "bench-Password-2026"


def signup_to_home(port: int, slug: str, timeout: float = 60) -> float:
    """Seconds from the HTTP signup of mall `slug` to its home page answering 200, which is
    what a new merchant waits for."""
    started = time.perf_counter()
    response = requests.post(
        f"http://localhost:{port}/api/v1/merchants/",
        json={"name": slug, "slug": slug, "owner_email": "boss@example.com",
              "password": SIGNUP_PASSWORD},
        timeout=timeout,
    )
    if response.status_code != 201:
        raise RuntimeError(f"signup failed: {response.status_code} {response.text}")
    # Python's resolver does not map *.localhost to 127.0.0.1 as browsers do: send the Host.
    home = f"http://127.0.0.1:{port}/"
    while requests.get(home, headers={"Host": f"{slug}.localhost"},
                       timeout=timeout).status_code != 200:
        time.sleep(0.01)
    return time.perf_counter() - started


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values), max(1, math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


# wrk's Lua side: rotates over pre-formatted requests (each thread from a random point),
# counts responses by status in every thread, and prints one machine-readable line.
_WRK_LUA = r"""
local targets = {TARGETS}
local threads = {}
local counter = 0
local prepared = {}
codes = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for i, t in ipairs(targets) do
    local body = t[4]
    if body == "" then body = nil end
    prepared[i] = wrk.format(t[1], t[2], t[3], body)
  end
  counter = math.random(#prepared)
end

function request()
  counter = counter % #prepared + 1
  return prepared[counter]
end

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("codes")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"codes":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout,
    table.concat(parts, ",")))
end
"""


def _lua_string(value: str) -> str:
    # A JSON string literal is a valid Lua one as long as no control character needs a
    # \u escape (hosts, paths, cookies and JSON bodies have none).
    return json.dumps(value, ensure_ascii=False)


def run_wrk(
    port: int,
    targets: list[tuple[str, str, dict[str, str], str]],
    *,
    duration: float,
    connections: int,
    threads: int = 1,
    workdir: Path,
) -> dict:
    """Load 127.0.0.1:`port` with wrk for `duration` seconds over `connections` connections,
    rotating over `targets` — (method, path, headers, body) — so every request may name its
    own Host, cookie and body. Latency percentiles come from wrk (`--latency`); "ok" counts
    2xx responses only, every other status (and socket error) is reported as such."""
    table = "{" + ",".join(
        "{" + ",".join([
            _lua_string(method), _lua_string(path),
            "{" + ",".join(f"[{_lua_string(k)}]={_lua_string(v)}" for k, v in headers.items())
            + "}",
            _lua_string(body),
        ]) + "}"
        for method, path, headers, body in targets
    ) + "}"
    script = workdir / "rotate.lua"
    script.write_text(_WRK_LUA.replace("{TARGETS}", table))
    seconds = max(1, round(duration))  # wrk takes whole seconds
    completed = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=seconds + 60, check=False,
    )
    if completed.returncode:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    line = next(
        (ln for ln in completed.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None
    )
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    ok = sum(count for status, count in raw["codes"].items() if 200 <= int(status) < 300)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", completed.stdout)
    return {
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "ok": ok,
        "ok_per_s": round(ok / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p90_ms": round(raw["p90_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "non_2xx": raw["requests"] - ok,
        "status_codes": raw["codes"],
        "socket_errors": {k: raw[k] for k in ("connect", "read", "write", "timeout") if raw[k]},
        "wrk_requests_per_s": float(rps.group(1)) if rps else None,
    }


def postmaster_pid(data_dir: Path) -> int:
    """The pid of the embedded PostgreSQL serving `data_dir`."""
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


class CpuMonitor(threading.Thread):
    """Where the CPU goes while a measurement runs, in cores (1.0 = one core busy the whole
    time): this server's PostgreSQL processes, and this process and its descendants by name
    (python, gunicorn, wrk, pgbench); `other` is what the rest of the machine used (other
    people's tests on a shared machine). `sample`, if given, is called every interval from
    this thread (e.g. to poll pg_stat_activity), and its `close()`, if any, at the end.

        with CpuMonitor(postmaster_pid(data_dir)) as monitor:
            ...
        monitor.figures
    """

    def __init__(self, postmaster: int, *, interval: float = 0.2, sample=None):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.postmaster = psutil.Process(postmaster)
        self.interval = interval
        self.sample = sample
        self.stopping = threading.Event()
        self.first: dict[int, tuple[str, float]] = {}
        self.last: dict[int, tuple[str, float]] = {}

    def _processes(self):
        me = self.psutil.Process()
        for process in [me, *me.children(recursive=True)]:
            name = process.name()
            kind = next((k for k in ("gunicorn", "wrk", "pgbench") if k in name), "python")
            yield kind, process
        yield "postgres", self.postmaster
        for process in self.postmaster.children():
            yield "postgres", process

    def _sample_cpu(self, *, initial: bool) -> None:
        for kind, process in self._processes():
            try:
                times = process.cpu_times()
            except self.psutil.NoSuchProcess:
                continue
            used = times.user + times.system
            if initial:
                self.first[process.pid] = (kind, used)
            else:
                # a process born during the measurement started from zero
                self.first.setdefault(process.pid, (kind, 0.0))
            self.last[process.pid] = (kind, used)

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.interval):
                self._sample_cpu(initial=False)
                if self.sample is not None:
                    self.sample()
        finally:
            close = getattr(self.sample, "close", None)
            if close is not None:
                close()  # in this thread, e.g. its own database connection

    def __enter__(self):
        self.machine_start = self.psutil.cpu_times()
        self._sample_cpu(initial=True)
        self.started = time.monotonic()
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.join()
        self._sample_cpu(initial=False)
        seconds = time.monotonic() - self.started
        used: dict[str, float] = {}
        for pid, (kind, end) in self.last.items():
            used[kind] = used.get(kind, 0.0) + end - self.first[pid][1]
        machine_end = self.psutil.cpu_times()
        busy = (
            (sum(machine_end) - machine_end.idle - machine_end.iowait)
            - (sum(self.machine_start) - self.machine_start.idle - self.machine_start.iowait)
        )
        cores = {kind: round(value / seconds, 2) for kind, value in sorted(used.items())}
        cores["other"] = round(max(0.0, busy - sum(used.values())) / seconds, 2)
        self.figures = {"cpu_cores": cores, "cpu_count": os.cpu_count()}
