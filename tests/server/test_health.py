"""Health reports the database state, and a dead database is a 503, not a hang or a 500."""

from __future__ import annotations

import time

from server import create_app
from server.embedded import free_port
from tests.helpers.fleet_api import make_config


def test_health_up(api):
    r = api.client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json["status"] == "ok" and r.json["database"] == "up"


def test_database_down_is_503_with_error_body(db_name):
    dead = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    app = create_app(make_config(dead, db_name, db_timeout_ms=300), start_reaper=False)
    client = app.test_client()
    started = time.monotonic()
    r = client.get("/api/v1/health")
    assert r.status_code == 503 and r.json["database"] == "down"
    assert r.json["error"]["code"] == "database_unavailable"
    r = client.post(
        "/api/v1/devices", json={"kind": "car", "name": "x"}, headers={"X-Fleet-Key": "wrong"}
    )
    r = client.get("/api/v1/city", headers={"Authorization": "Bearer whatever"})
    assert r.status_code == 503
    assert r.json["error"]["code"] == "database_unavailable"
    assert time.monotonic() - started < 10
