"""The operator page behind the fleet key: login, the car and booking lists, service states."""

from __future__ import annotations

from tests.helpers.fake_car import FakeCarScript
from tests.helpers.fleet_api import FLEET_KEY


def login(client, key: str = FLEET_KEY):
    return client.post("/operator/login", data={"key": key})


def test_operator_calls_need_a_login(client):
    assert "Operator login" in client.get("/operator").get_data(as_text=True)
    r = client.get("/operator/api/state")
    assert r.status_code == 401 and r.json["error"]["code"] == "operator_login_required"
    r = login(client, "wrong-key-123")
    assert r.status_code == 401 and "not the fleet key" in r.get_data(as_text=True)
    assert client.get("/operator/api/state").status_code == 401
    r = login(client)
    assert r.status_code == 303
    assert "Bookings" in client.get("/operator").get_data(as_text=True)
    assert client.get("/operator/api/state").status_code == 200
    client.post("/operator/logout")
    assert client.get("/operator/api/state").status_code == 401


def test_operator_sees_cars_and_bookings_and_holds_a_car(client, cars):
    car = cars("A", "Alpha", FakeCarScript(start_delay_s=30))
    login(client)
    state = client.get("/operator/api/state").json
    (listed,) = state["cars"]
    assert listed["id"] == car.car_id and listed["battery_v"] == 7.4
    assert listed["stream_url"] == car.stream_url and listed["service"] == "in_service"
    visitor = client.application.test_client()
    r = client.post(f"/operator/api/cars/{car.car_id}/service", json={"service": "paused"})
    assert r.status_code == 200 and r.json["service"] == "paused"
    r = visitor.post("/api/booking", json={"destination": "E"})
    assert r.status_code == 409 and r.json["error"]["code"] == "no_car_available"
    r = client.post(f"/operator/api/cars/{car.car_id}/service", json={"service": "out_of_service"})
    assert r.json["service"] == "out_of_service"
    assert visitor.post("/api/booking", json={"destination": "E"}).status_code == 409
    client.post(f"/operator/api/cars/{car.car_id}/service", json={"service": "in_service"})
    trip = visitor.post("/api/booking", json={"destination": "E"}).json
    bookings = client.get("/operator/api/state").json["bookings"]
    assert bookings[0]["id"] == trip["id"] and bookings[0]["stream"] is True
    assert "stream_token" not in bookings[0]
    watch = client.get(f"/operator/stream/{car.car_id}", buffered=False)
    assert watch.status_code == 200 and watch.mimetype == "multipart/x-mixed-replace"
    assert next(iter(watch.response)).startswith(b"--frame")
    watch.close()
    r = client.post(f"/operator/api/cars/{car.car_id}/service", json={"service": "broken"})
    assert r.status_code == 400
    r = client.post("/operator/api/cars/car-nope/service", json={"service": "paused"})
    assert r.status_code == 404
    assert client.get("/operator/stream/car-nope").status_code == 409
