"""The metrics endpoint: /metrics (Prometheus text format) and /healthz, on a daemon thread.

A tiny threaded WSGI server from the standard library; prometheus_client renders /metrics.
It binds where `[metrics] listen` says, loopback by default: the figures are not secret, but
an operator decides who may read them (a reverse proxy, or Prometheus on the same host).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

if TYPE_CHECKING:
    from inboxbot.metrics import Metrics

StartResponse = Callable[..., Any]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scraper must not hold up shutdown


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per scrape on stderr would drown the journal


def make_app(metrics: Metrics) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application: /healthz answers 200 or 503 with a line per mailbox."""
    prometheus = make_wsgi_app(metrics.registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            result = metrics.health()
            status = "200 OK" if result.ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [result.text.encode("utf-8")]
        if path in ("/metrics", "/"):
            body: Iterable[bytes] = prometheus(environ, start_response)
            return body
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics or /healthz\n"]

    return app


class MetricsServer:
    """Serves `metrics` on host:port until close()."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        server_class = _Server6 if ":" in host else _Server
        self._httpd = make_server(host, port, make_app(metrics), server_class=server_class,
                                  handler_class=_QuietHandler)
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics-http",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
