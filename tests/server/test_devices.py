"""Device registration and bearer-token authentication."""

from __future__ import annotations

from tests.helpers.fleet_api import FLEET_KEY


def test_register_returns_id_and_token_and_token_is_stored_hashed(api, app):
    car, token = api.register("car", "Pixel 1")
    assert car.startswith("car-") and len(token) >= 32
    doc = app.extensions["pixelopolis"].db.devices.find_one({"_id": car})
    assert token not in str(doc) and len(doc["token_hash"]) == 64


def test_register_needs_the_fleet_key(api):
    for headers in ({}, {"X-Fleet-Key": "wrong-key-123"}):
        r = api.client.post("/api/v1/devices", json={"kind": "car", "name": "x"}, headers=headers)
        assert r.status_code == 401
        assert r.json["error"]["code"] == "bad_fleet_key"


def test_register_rejects_bad_bodies_with_json_errors(api):
    cases = [
        {"kind": "bus", "name": "x"},
        {"kind": "car"},
        {"kind": "car", "name": ""},
        {"kind": "car", "name": 5},
        {"kind": "car", "name": "x", "extra": 1},
        ["car"],
    ]
    for body in cases:
        r = api.client.post("/api/v1/devices", json=body, headers={"X-Fleet-Key": FLEET_KEY})
        assert r.status_code == 400, body
        assert r.json["error"]["code"] == "invalid_request"
        assert r.json["error"]["message"]


def test_malformed_json_is_400_not_500(api):
    r = api.client.post(
        "/api/v1/devices",
        data="{not json",
        headers={"X-Fleet-Key": FLEET_KEY, "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert set(r.json["error"]) >= {"code", "message"}


def test_calls_need_a_valid_bearer_token(api):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = api.client.get("/api/v1/city", headers=headers)
        assert r.status_code == 401
        assert r.json["error"]["code"] in {"unauthorized", "bad_token"}


def test_a_car_may_not_report_for_another_car(api):
    car_a, _ = api.register("car")
    _, token_b = api.register("car")
    r = api.status(car_a, token_b)
    assert r.status_code == 403
    assert r.json["error"]["code"] == "wrong_device"


def test_a_station_may_not_report_car_status_and_a_car_may_not_book(api):
    car, car_token = api.register("car")
    _, station_token = api.register("station")
    assert api.status(car, station_token).status_code == 403
    assert api.book(car_token, "A").status_code == 403


def test_unknown_route_is_json_404(api):
    r = api.client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json["error"]["code"] == "not_found"
    r = api.client.delete("/api/v1/devices")
    assert r.status_code == 405
    assert r.json["error"]["code"] == "method_not_allowed"


def test_non_object_body_and_control_characters_are_rejected(api):
    for data in ("", "[]", "123", '"car"'):
        r = api.client.post(
            "/api/v1/devices",
            data=data,
            headers={"X-Fleet-Key": FLEET_KEY, "Content-Type": "application/json"},
        )
        assert r.status_code == 400, data
        assert r.json["error"]["code"] in {"malformed_json", "invalid_request"}
    r = api.client.post(
        "/api/v1/devices",
        json={"kind": "car", "name": "a\x00b"},
        headers={"X-Fleet-Key": FLEET_KEY},
    )
    assert r.status_code == 400


def test_stream_url_must_be_http(api):
    car, token = api.register("car")
    for url in ("javascript:alert(1)", "file:///etc/passwd", "ftp://x"):
        assert api.status(car, token, stream_url=url).status_code == 400, url
    assert api.status(car, token, stream_url="https://car.local:8080/stream").status_code == 200
