"""The station's own defences: headers on every page, request size and login limits, and
no fleet key or device token in any page, answer or log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from station import StationConfig, create_app
from tests.helpers.fleet_api import FLEET_KEY
from tests.helpers.live_servers import fleet_server

PAGES = ("/", "/operator", "/static/station.js", "/static/station.css", "/api/city", "/health")


def test_every_page_has_the_security_headers(client):
    client.post("/operator/login", data={"key": FLEET_KEY})
    for path in (*PAGES, "/operator/api/state", "/i18n/th.json", "/nothing-here"):
        r = client.get(path)
        csp = r.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "script-src 'self'" in csp and "object-src 'none'" in csp, path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["Referrer-Policy"] == "no-referrer", path


def test_the_policy_names_no_other_origin_and_allows_no_inline_code(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert not re.search(r"https?:|\*|'unsafe-(inline|eval)'", csp), csp
    # What the page really uses is allowed: its own script and styles, and no inline script
    # (the catalogue rides in a JSON data block, which a policy does not run).
    page = client.get("/").get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*(src=|application/json))", page) == []
    assert " style=" not in page and " onclick=" not in page


def test_an_oversized_body_is_a_json_413(client):
    r = client.post("/api/booking", json={"destination": "A" * 20_000})
    assert r.status_code == 413 and r.json["error"]["code"] == "payload_too_large"


def test_fleet_key_guesses_are_rate_limited(client):
    for _ in range(10):
        assert client.post("/operator/login", data={"key": "guess-123456"}).status_code == 401
    r = client.post("/operator/login", data={"key": FLEET_KEY})
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert client.get("/operator/api/state").status_code == 401


@pytest.fixture
def strict_station(mongo_uri: str, db_name: str) -> Iterator[object]:
    """A station whose fleet server allows one booking a minute per station."""
    with fleet_server(mongo_uri, db_name, booking_limit="1/minute") as api_base:
        yield create_app(StationConfig(server_url=api_base, fleet_key=FLEET_KEY, name="Strict"))


def test_the_fleet_servers_429_reaches_the_visitor_as_json(strict_station):
    client = strict_station.test_client()
    assert client.post("/api/booking", json={"destination": "E"}).status_code == 409
    r = client.post("/api/booking", json={"destination": "E"})
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"


def test_no_secret_in_any_page_answer_or_log(client, station_app, cars, caplog):
    caplog.set_level(logging.DEBUG)
    cars("A")
    token = station_app.extensions["station"].fleet.identity.token
    bodies = [client.get(path).get_data(as_text=True) for path in PAGES]
    bodies.append(client.post("/api/booking", json={"destination": "E"}).get_data(as_text=True))
    bodies.append(client.get("/api/booking").get_data(as_text=True))
    bodies.append(client.post("/operator/login", data={"key": "wrong-key-999"}).get_data(True))
    client.post("/operator/login", data={"key": FLEET_KEY})
    bodies += [client.get(p).get_data(as_text=True) for p in ("/operator", "/operator/api/state")]
    bodies.append(client.post("/api/booking/cancel").get_data(as_text=True))
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in (FLEET_KEY, token, "wrong-key-999"):
        assert secret not in logged
        for body in bodies:
            assert secret not in body
