"""Serve the station with gunicorn: one worker process (sessions live in its memory) with
threads, because each watching browser holds one thread for the relayed camera stream."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._app


def serve(app: Flask, *, host: str, port: int, threads: int) -> None:
    """Run until SIGINT/SIGTERM."""
    options = {
        "bind": f"{host}:{port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        # A relayed stream is one long response; gthread workers keep heartbeating meanwhile.
        "timeout": 60,
        "graceful_timeout": 3,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "pixelopolis-station",
    }
    try:
        _Gunicorn(app, options).run()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
