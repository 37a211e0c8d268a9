"""The database goes away and comes back: 503 meanwhile, then service resumes by itself."""

from __future__ import annotations

import pytest

from server import create_app
from server.embedded import EmbeddedDatabase
from tests.helpers.fleet_api import Api, first_node, make_config

pytestmark = pytest.mark.slow


def test_503_while_down_then_recovers_with_data_intact(tmp_path, db_name):
    db = EmbeddedDatabase(tmp_path)
    db.start()
    try:
        app = create_app(make_config(db.uri, db_name, db_timeout_ms=500), start_reaper=False)
        api = Api(app.test_client())
        car, token = api.ready_car(first_node())
        db.stop()
        r = api.status(car, token, "ready")
        assert r.status_code == 503 and r.json["error"]["code"] == "database_unavailable"
        assert api.client.get("/api/v1/health").status_code == 503
        db.start()
        assert api.client.get("/api/v1/health").status_code == 200
        r = api.status(car, token, "ready")
        assert r.status_code == 200 and r.json["id"] == car
    finally:
        db.stop()
