"""The car list: every car with its live state, for station screens and the operator map."""

from __future__ import annotations

import time

from city import default_city
from server import create_app
from tests.helpers.fleet_api import Api, make_config

NODES = sorted(default_city().nodes)


def test_any_device_lists_every_car(api):
    a, a_token = api.ready_car(NODES[1], "Alpha")
    b, _ = api.register("car", "Beta")  # registered, never reported
    _, station = api.register("station")
    booking = api.book(station, NODES[0]).json
    api.status(a, a_token, "ready", NODES[1], battery_v=7.6, stream_url="http://10.0.0.5:8080/s")
    for token in (station, a_token):
        r = api.cars(token)
        assert r.status_code == 200, r.json
        cars = {c["id"]: c for c in r.json["cars"]}
        assert list(cars) == sorted([a, b])
        assert cars[a] == {
            "id": a,
            "name": "Alpha",
            "state": "ready",
            "node": NODES[1],
            "from_node": None,
            "battery_v": 7.6,
            "stream_url": "http://10.0.0.5:8080/s",
            "booking": booking["id"],
            "online": True,
            "service": "in_service",
        }
        assert cars[b]["state"] == "offline" and cars[b]["online"] is False
        assert cars[b]["node"] is None and cars[b]["booking"] is None


def test_car_list_needs_a_token(api):
    r = api.client.get("/api/v1/cars")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_silent_car_is_listed_offline(mongo_uri, db_name):
    app = create_app(make_config(mongo_uri, db_name, liveness_timeout_s=0.3), start_reaper=False)
    api = Api(app.test_client())
    try:
        car, token = api.ready_car(NODES[2], "Gamma")
        _, station = api.register("station")
        assert api.cars(station).json["cars"][0]["state"] == "ready"
        time.sleep(0.4)
        listed = api.cars(station).json["cars"][0]
        assert listed["id"] == car and listed["state"] == "offline" and not listed["online"]
        assert listed["node"] == NODES[2]
        api.status(car, token, "paused", NODES[2])
        assert api.cars(station).json["cars"][0]["state"] == "paused"
    finally:
        app.extensions["pixelopolis"].db.client.drop_database(db_name)
        app.extensions["pixelopolis"].db.client.close()
