"""Serving a simulator's WSGI app on a daemon thread, for tests (both simulators)."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """No access log line per request: tests make hundreds."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class ThreadedServer:
    """A running simulator: `simulator` is the WSGI app (its state and config are there to
    inspect), `shutdown()` stops the HTTP server and the simulator's background workers."""

    def __init__(self, simulator, http: BaseWSGIServer, thread: threading.Thread):
        self.simulator = simulator
        self.http = http
        self.thread = thread

    @property
    def base_url(self) -> str:
        return f"http://{self.http.host}:{self.http.port}"

    def shutdown(self) -> None:
        self.http.shutdown()
        self.thread.join(timeout=5)
        self.http.server_close()
        self.simulator.close()


def bind(host: str, port: int, *, quiet: bool) -> tuple[BaseWSGIServer, str]:
    """A threaded HTTP server bound now (port 0: a free one), its app set later by `start`,
    so the app can be built knowing its own address."""
    http = make_server(host, port, None, threaded=True,
                       request_handler=QuietHandler if quiet else None)
    return http, f"http://{host}:{http.port}"


def start(simulator, http: BaseWSGIServer, name: str) -> ThreadedServer:
    http.app = simulator
    thread = threading.Thread(target=http.serve_forever, name=name, daemon=True)
    thread.start()
    return ThreadedServer(simulator, http, thread)
