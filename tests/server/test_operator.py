"""Operator calls behind the fleet key: the booking list and a car's service state."""

from __future__ import annotations

from city import default_city
from tests.helpers.fleet_api import FLEET_KEY

NODES = sorted(default_city().nodes)
KEY = {"X-Fleet-Key": FLEET_KEY}


def _service(api, car: str, service: str, headers: dict | None = None):
    return api.client.put(
        f"/api/v1/cars/{car}/service", json={"service": service}, headers=headers or KEY
    )


def test_paused_or_out_of_service_car_is_never_booked(api):
    car, token = api.ready_car(NODES[1], "Alpha")
    _, station = api.register("station")
    for service in ("paused", "out_of_service"):
        r = _service(api, car, service)
        assert r.status_code == 200, r.json
        assert r.json["service"] == service and r.json["id"] == car
        booked = api.book(station, NODES[0])
        assert booked.status_code == 409 and booked.json["error"]["code"] == "no_car_available"
        listed = api.cars(station).json["cars"][0]
        assert listed["service"] == service
        # The car learns it from its own heartbeat answer.
        assert api.status(car, token, "ready", NODES[1]).json["service"] == service
    assert _service(api, car, "in_service").json["service"] == "in_service"
    booked = api.book(station, NODES[0])
    assert booked.status_code == 201 and booked.json["car"] == car


def test_pausing_skips_to_the_next_car(api):
    near, _ = api.ready_car(NODES[0], "Near")
    far, _ = api.ready_car(NODES[5], "Far")
    _, station = api.register("station")
    _service(api, near, "paused")
    r = api.book(station, NODES[0])
    assert r.status_code == 201 and r.json["car"] == far


def test_service_needs_the_fleet_key_and_a_known_car_and_state(api):
    car, _ = api.ready_car(NODES[1])
    r = _service(api, car, "paused", headers={"X-Fleet-Key": "wrong-key-123"})
    assert r.status_code == 401 and r.json["error"]["code"] == "bad_fleet_key"
    r = _service(api, "car-nope", "paused")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = _service(api, car, "asleep")
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_request"


def test_operator_lists_bookings_newest_first(api):
    api.ready_car(NODES[1], "A")
    car_b, _ = api.ready_car(NODES[2], "B")
    _, station = api.register("station")
    first = api.book(station, NODES[0]).json
    second = api.book(station, NODES[3]).json
    api.call("POST", f"/bookings/{first['id']}/cancel", station)
    r = api.client.get("/api/v1/bookings", headers=KEY)
    assert r.status_code == 200, r.json
    assert [b["id"] for b in r.json["bookings"]] == [second["id"], first["id"]]
    assert r.json["bookings"][1]["status"] == "cancelled"
    assert r.json["bookings"][0]["stream_token"] == second["stream_token"]
    only_open = api.client.get("/api/v1/bookings?open=true&limit=5", headers=KEY).json
    assert [b["id"] for b in only_open["bookings"]] == [second["id"]]
    assert api.client.get("/api/v1/bookings").status_code == 401
    r = api.client.get("/api/v1/bookings?limit=0", headers=KEY)
    assert r.status_code == 400


def test_openapi_describes_the_operator_calls(api):
    doc = api.client.get("/api/v1/openapi.json").json
    assert "get" in doc["paths"]["/api/v1/bookings"]
    assert "put" in doc["paths"]["/api/v1/cars/{car_id}/service"]
    assert doc["components"]["securitySchemes"]["FleetKey"]["name"] == "X-Fleet-Key"
