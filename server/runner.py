"""Serve the app with gunicorn: several worker processes, threads for long-polling cars."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

from server.app import create_app
from server.config import ConfigError, ServerConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    # Each waiting car holds one thread for up to `max_wait_s`; size for the fleet.
    threads: int = 64

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"port: must be 1-65535, got {self.port}")
        if not 1 <= self.workers <= 64:
            raise ConfigError(f"workers: must be 1-64, got {self.workers}")
        if not 1 <= self.threads <= 1024:
            raise ConfigError(f"threads: must be 1-1024, got {self.threads}")


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"port: {host}:{port} is not free ({exc.strerror})") from exc


class _Gunicorn(BaseApplication):
    def __init__(self, server: ServerConfig, options: dict[str, Any]):
        self._server = server
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Runs in each worker after the fork: every worker has its own MongoDB client.
        return create_app(self._server)


def serve(server: ServerConfig, http: HttpConfig) -> None:
    """Run until SIGINT/SIGTERM; returns after the workers have stopped."""
    check_port_free(http.host, http.port)
    options = {
        "bind": f"{http.host}:{http.port}",
        "workers": http.workers,
        "worker_class": "gthread",
        "threads": http.threads,
        "timeout": 120,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "pixelopolis-server",
    }
    try:
        _Gunicorn(server, options).run()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
