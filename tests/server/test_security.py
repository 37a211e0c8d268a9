"""Security rules of the fleet API, one test per rule: who may do what with which token.

Revocation, ownership of bookings and cars, rate limits, request size limits and headers.
"""

from __future__ import annotations

import logging
import time

import pytest
from pymongo.errors import WriteConcernError

from city import default_city
from server import create_app
from server.config import ConfigError
from tests.helpers.fleet_api import FLEET_KEY, Api, make_config

OPERATOR = {"X-Fleet-Key": FLEET_KEY}


def nodes() -> list[str]:
    return sorted(default_city().nodes)


@pytest.fixture
def make_api(mongo_uri: str, db_name: str):
    """Apps (workers) on one fresh database, with chosen settings."""
    apps = []

    def build(**kw) -> Api:
        app = create_app(make_config(mongo_uri, db_name, **kw), start_reaper=False)
        apps.append(app)
        return Api(app.test_client())

    yield build
    for app in apps:
        app.extensions["pixelopolis"].db.client.drop_database(db_name)
        app.extensions["pixelopolis"].db.client.close()


def _booked(api: Api) -> tuple[str, str, str, str, str]:
    """A booking: (booking id, car id, car token, station token, destination)."""
    car, car_token = api.ready_car(nodes()[1])
    _, station = api.register("station")
    r = api.book(station, nodes()[0])
    assert r.status_code == 201, r.json
    return r.json["id"], car, car_token, station, nodes()[0]


# -- revocation ----------------------------------------------------------------------------


def test_a_revoked_token_gets_401_for_cars_and_stations(api):
    car, car_token = api.ready_car(nodes()[1])
    station_id, station = api.register("station")
    for device, token in ((car, car_token), (station_id, station)):
        assert api.cars(token).status_code == 200
        r = api.client.delete(f"/api/v1/devices/{device}/token", headers=OPERATOR)
        assert r.status_code == 200, r.json
        assert r.json["id"] == device and r.json["revoked"] and r.json["revoked_at"]
        r = api.cars(token)
        assert r.status_code == 401 and r.json["error"]["code"] == "bad_token"
    assert api.status(car, car_token).status_code == 401
    assert api.book(station, nodes()[0]).status_code == 401


def test_revoking_needs_the_fleet_key_and_a_known_device(api):
    car, car_token = api.register("car")
    for headers in ({}, {"X-Fleet-Key": "wrong-key-123"}, {"Authorization": f"Bearer {car_token}"}):
        r = api.client.delete(f"/api/v1/devices/{car}/token", headers=headers)
        assert r.status_code == 401 and r.json["error"]["code"] == "bad_fleet_key"
        assert api.cars(car_token).status_code == 200
    r = api.client.delete("/api/v1/devices/car-nope/token", headers=OPERATOR)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_revoking_twice_keeps_the_first_time_and_the_device_list_shows_it(api):
    car, _ = api.register("car", "Pixel")
    first = api.client.delete(f"/api/v1/devices/{car}/token", headers=OPERATOR).json
    time.sleep(0.01)
    again = api.client.delete(f"/api/v1/devices/{car}/token", headers=OPERATOR).json
    assert again["revoked_at"] == first["revoked_at"]
    station, _ = api.register("station", "Square")
    assert api.client.get("/api/v1/devices").status_code == 401
    listed = api.client.get("/api/v1/devices", headers=OPERATOR).json["devices"]
    by_id = {d["id"]: d for d in listed}
    assert by_id[car]["revoked"] and by_id[car]["kind"] == "car" and by_id[car]["name"] == "Pixel"
    assert not by_id[station]["revoked"] and by_id[station]["revoked_at"] is None
    assert "token" not in str(listed)


def test_a_revocation_reaches_every_worker_within_the_token_cache_time(make_api):
    worker_a = make_api(token_cache_s=0.3)
    worker_b = make_api(token_cache_s=0.3)
    car, token = worker_a.register("car")
    assert worker_b.cars(token).status_code == 200  # cached by worker B now
    worker_a.client.delete(f"/api/v1/devices/{car}/token", headers=OPERATOR)
    assert worker_a.cars(token).status_code == 401  # at once where it was revoked
    time.sleep(0.35)
    assert worker_b.cars(token).status_code == 401  # after the cache time elsewhere


def test_a_revoked_car_must_register_again_and_gets_a_new_identity(api):
    car, token = api.register("car")
    api.client.delete(f"/api/v1/devices/{car}/token", headers=OPERATOR)
    new_car, new_token = api.register("car")
    assert new_car != car and new_token != token
    assert api.status(new_car, new_token).status_code == 200


# -- whose booking, whose car ---------------------------------------------------------------


def test_only_the_booking_station_and_car_may_read_it(api):
    bid, _, car_token, station, _ = _booked(api)
    _, other_station = api.register("station")
    _, other_car = api.register("car")
    assert api.call("GET", f"/bookings/{bid}", station).status_code == 200
    assert api.call("GET", f"/bookings/{bid}", car_token).status_code == 200
    for token in (other_station, other_car):
        r = api.call("GET", f"/bookings/{bid}", token)
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    for token in ("wrong-token", None):
        r = api.call("GET", f"/bookings/{bid}", token)
        assert r.status_code == 401
        assert "stream_token" not in r.json and r.json["error"]["code"] in {
            "unauthorized",
            "bad_token",
        }


def test_only_the_booking_station_may_cancel_it(api):
    bid, _, car_token, station, _ = _booked(api)
    _, other_station = api.register("station")
    r = api.call("POST", f"/bookings/{bid}/cancel", other_station)
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    r = api.call("POST", f"/bookings/{bid}/cancel", car_token)
    assert r.status_code == 403 and r.json["error"]["code"] == "wrong_device_kind"
    assert api.call("POST", f"/bookings/{bid}/cancel", "stolen-guess").status_code == 401
    assert api.call("GET", f"/bookings/{bid}", station).json["status"] == "assigned"


def test_only_the_booked_car_may_report_progress_reroute_or_arrival(api):
    bid, _, _, station, _ = _booked(api)
    _, other_car = api.ready_car(nodes()[2], "other")
    route = api.call("GET", f"/bookings/{bid}", station).json["route"]["steps"]
    calls = [
        ("POST", f"/bookings/{bid}/progress", {"node": route[0]["node"]}),
        ("POST", f"/bookings/{bid}/reroute", {"node": route[0]["node"]}),
        ("POST", f"/bookings/{bid}/arrived", None),
    ]
    for method, path, body in calls:
        r = api.call(method, path, other_car, json=body)
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden", path
        r = api.call(method, path, station, json=body)
        assert r.status_code == 403 and r.json["error"]["code"] == "wrong_device_kind", path
        assert api.call(method, path, "not-a-token", json=body).status_code == 401, path
    assert api.call("GET", f"/bookings/{bid}", station).json["passed"] == []


def test_a_car_may_only_update_and_poll_for_itself(api):
    car_a, token_a = api.ready_car(nodes()[1], "a")
    car_b, token_b = api.ready_car(nodes()[2], "b")
    for car, token in ((car_a, token_b), (car_b, token_a)):
        r = api.status(car, token, "offline")
        assert r.status_code == 403 and r.json["error"]["code"] == "wrong_device"
        r = api.call("GET", f"/cars/{car}/assignment", token)
        assert r.status_code == 403 and r.json["error"]["code"] == "wrong_device"
    assert api.status(car_a, "bad-token").status_code == 401
    states = {c["id"]: c["state"] for c in api.cars(token_a).json["cars"]}
    assert states == {car_a: "ready", car_b: "ready"}


def test_the_stream_token_is_shown_to_the_booking_parties_only(api):
    bid, car, car_token, station, _ = _booked(api)
    _, other_station = api.register("station")
    token = api.call("GET", f"/bookings/{bid}", station).json["stream_token"]
    assert token and api.call("GET", f"/cars/{car}/assignment", car_token).json["stream_token"]
    for path in ("/cars", "/reservations", "/city"):
        assert token not in api.call("GET", path, other_station).get_data(as_text=True)
    r = api.client.get("/api/v1/bookings")
    assert r.status_code == 401 and token not in r.get_data(as_text=True)


# -- rate limits ----------------------------------------------------------------------------


def test_registration_is_rate_limited_per_client_with_a_json_429(make_api):
    api = make_api(register_limit="3/minute")
    for _ in range(3):
        api.register("car")
    r = api.client.post("/api/v1/devices", json={"kind": "car", "name": "x"}, headers=OPERATOR)
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert r.json["error"]["message"] and int(r.headers["Retry-After"]) >= 1
    # Guessing the fleet key counts too, and is refused before the key is even checked.
    r = api.client.post("/api/v1/devices", json={"kind": "car", "name": "x"})
    assert r.status_code == 429
    other = api.client.post(
        "/api/v1/devices",
        json={"kind": "car", "name": "x"},
        headers=OPERATOR,
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 201


def test_booking_is_rate_limited_per_station(make_api):
    api = make_api(booking_limit="2/minute")
    _, station = api.register("station")
    _, other_station = api.register("station")
    for _ in range(2):
        assert api.book(station, nodes()[0]).status_code == 409  # no car: still counted
    r = api.book(station, nodes()[0])
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert "Retry-After" in r.headers
    assert api.book(other_station, nodes()[0]).status_code == 409


def test_rate_limits_can_be_switched_off(make_api):
    api = make_api(register_limit="off", booking_limit="off")
    _, station = api.register("station")
    for _ in range(70):
        assert api.book(station, nodes()[0]).status_code == 409


def test_the_client_address_comes_from_the_trusted_proxy_only(make_api):
    api = make_api(register_limit="1/minute", trusted_proxies=1)

    def register(forwarded: str):
        return api.client.post(
            "/api/v1/devices",
            json={"kind": "car", "name": "x"},
            headers={**OPERATOR, "X-Forwarded-For": forwarded},
        )

    assert register("10.0.0.1").status_code == 201
    assert register("10.0.0.1").status_code == 429
    assert register("10.0.0.2").status_code == 201
    # A client cannot forge its way past the proxy: only the proxy's last hop is trusted.
    assert register("10.0.0.3, 10.0.0.2").status_code == 429


@pytest.mark.parametrize(
    "field, value",
    [
        ("register_limit", "lots"),
        ("booking_limit", "10/fortnight"),
        ("trusted_proxies", -1),
        ("token_cache_s", 120),
    ],
)
def test_bad_security_settings_fail_at_start(mongo_uri, db_name, field, value):
    with pytest.raises(ConfigError, match=field):
        make_config(mongo_uri, db_name, **{field: value})


# -- request size, headers, errors -------------------------------------------------------------


def test_an_oversized_body_is_a_json_413(api):
    _, station = api.register("station")
    body = '{"destination": "' + "A" * 70_000 + '"}'
    r = api.call(
        "POST", "/bookings", station, data=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json["error"]["code"] == "payload_too_large"
    r = api.client.post(
        "/api/v1/devices",
        data=body,
        headers={**OPERATOR, "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json["error"]["code"] == "payload_too_large"


def test_api_answers_are_never_cached_or_sniffed(api):
    r = api.client.post("/api/v1/devices", json={"kind": "car", "name": "x"}, headers=OPERATOR)
    assert r.status_code == 201
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert api.client.get("/api/v1/health").headers["X-Frame-Options"] == "DENY"


def test_a_write_without_a_majority_is_a_503_not_a_500(api, app, monkeypatch):
    _, station = api.register("station")

    def no_majority(*_a, **_k):
        raise WriteConcernError("waiting for replication timed out", 64, {})

    monkeypatch.setattr(app.extensions["pixelopolis"].fleet, "book", no_majority)
    r = api.book(station, nodes()[0])
    assert r.status_code == 503 and r.json["error"]["code"] == "database_unavailable"


def test_the_fleet_key_and_tokens_never_reach_the_logs(api, caplog):
    caplog.set_level(logging.DEBUG)
    bid, car, car_token, station, _ = _booked(api)
    api.call("POST", f"/bookings/{bid}/cancel", station)
    api.client.post(
        "/api/v1/devices", json={"kind": "car", "name": "x"}, headers={"X-Fleet-Key": "bad-guess-1"}
    )
    api.client.delete(f"/api/v1/devices/{car}/token", headers=OPERATOR)
    api.status(car, car_token)
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert caplog.records, "the flow logs something"
    for secret in (FLEET_KEY, car_token, station, "bad-guess-1"):
        assert secret not in logged
