"""Real HTTP servers inside the test process: the fleet server app and a station app.

Both are the real Flask apps served by a threaded WSGI server on a free loopback port, so
browsers, fake cars and the station talk to them over real HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (free port) in a thread; yield its root URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def fleet_server(mongo_uri: str, db_name: str, **config: Any) -> Iterator[str]:
    """The real fleet server app on a fresh database; yields its API base (…/api/v1)."""
    from server import create_app
    from tests.helpers.fleet_api import make_config

    app = create_app(make_config(mongo_uri, db_name, **config))
    svc = app.extensions["pixelopolis"]
    try:
        with serving(app) as root:
            yield f"{root}/api/v1"
    finally:
        svc.db.client.drop_database(db_name)
        svc.db.client.close()
