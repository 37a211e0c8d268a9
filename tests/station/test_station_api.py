"""The station's own JSON calls, against a real fleet server with scripted cars."""

from __future__ import annotations

import time

import pytest
import requests

from station import StationConfig, StationConfigError, create_app
from station.fleet import FleetError
from tests.helpers.fake_car import FakeCarScript
from tests.helpers.fleet_api import FLEET_KEY


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def test_city_and_places_are_served_for_drawing(client):
    city = client.get("/api/city").json
    assert city["name"] == "Pixelopolis town"
    ids = {n["id"] for n in city["nodes"]}
    assert {"A", "M"} <= ids and all(e["d"].startswith("M") for e in city["edges"])
    places = client.get("/api/places").json["places"]
    assert {"id": "M", "name": "Depot", "sign": "red-octagon"} in places
    assert [p["name"] for p in places] == sorted(p["name"] for p in places)


def test_book_and_follow_a_trip_to_arrival(client, cars):
    car = cars("A", "Alpha", FakeCarScript(leg_s=0.3, start_delay_s=0.3))
    r = client.post("/api/booking", json={"destination": "E"})
    assert r.status_code == 201, r.json
    trip = r.json
    assert trip["status"] == "assigned" and trip["car"] == {"id": car.car_id, "name": "Alpha"}
    assert trip["destination"] == {"id": "E", "name": "Station", "sign": "red-triangle"}
    assert trip["route"][0]["id"] == "A" and trip["route"][-1]["id"] == "E"
    assert trip["next"] is not None and trip["eta_s"] > 0 and trip["stream"] is True
    seen = set()

    def arrived():
        t = client.get("/api/booking").json
        seen.add(t["status"])
        return t if t["status"] == "arrived" else None

    final = wait_for(arrived)
    assert "driving" in seen or len(final["route"]) == 2
    assert final["next"] is None and final["eta_s"] is None and final["remaining_m"] == 0
    assert final["stream"] is False
    listed = {c["id"]: c for c in client.get("/api/cars").json["cars"]}
    assert listed[car.car_id]["node"] == "E"


def test_no_car_free_is_a_clear_409(client, cars):
    r = client.post("/api/booking", json={"destination": "E"})
    assert r.status_code == 409 and r.json["error"]["code"] == "no_car_available"
    cars("A")
    assert client.post("/api/booking", json={"destination": "E"}).status_code == 201
    other = client.application.test_client()  # another visitor: the only car is taken
    r = other.post("/api/booking", json={"destination": "B"})
    assert r.status_code == 409 and r.json["error"]["code"] == "no_car_available"


def test_a_booking_whose_answer_is_lost_is_retried_without_a_second_car(
    client, cars, fleet, monkeypatch
):
    """The fleet stores the booking but its 201 never reaches the station: the station
    sends it again with the same Idempotency-Key and gets the same booking back."""
    cars("A", "Alpha", FakeCarScript(start_delay_s=30))
    cars("B", "Beta", FakeCarScript(start_delay_s=30))
    real = requests.Session.request
    keys: list[str | None] = []

    def lose_first_answer(self, method, url, **kw):
        response = real(self, method, url, **kw)
        if method == "POST" and url.endswith("/bookings"):
            keys.append(kw["headers"].get("Idempotency-Key"))
            if len(keys) == 1:
                raise requests.ConnectionError("connection reset after the request was sent")
        return response

    monkeypatch.setattr(requests.Session, "request", lose_first_answer)
    r = client.post("/api/booking", json={"destination": "E"})
    monkeypatch.undo()
    assert r.status_code == 201, r.json
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    stored = requests.get(
        f"{fleet}/bookings", headers={"X-Fleet-Key": FLEET_KEY}, timeout=10
    ).json()["bookings"]
    assert len(stored) == 1, "the retry made a second booking"
    assert stored[0]["car"] == r.json["car"]["id"]
    mine = [c["id"] for c in client.get("/api/cars").json["cars"] if c["mine"]]
    assert mine == [r.json["car"]["id"]]


def test_one_open_trip_per_screen_and_cancel(client, cars):
    cars("A", script=FakeCarScript(start_delay_s=30))
    cars("B", "Beta")
    assert client.post("/api/booking", json={"destination": "E"}).status_code == 201
    r = client.post("/api/booking", json={"destination": "D"})
    assert r.status_code == 409 and r.json["error"]["code"] == "booking_open"
    r = client.post("/api/booking/cancel")
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert client.post("/api/booking", json={"destination": "D"}).status_code == 201


def test_bad_input_is_a_json_4xx(client):
    r = client.post("/api/booking", json={"destination": "Nowhere"})
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_node"
    r = client.post("/api/booking", data="not json", content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_request"
    r = client.get("/api/booking")
    assert r.status_code == 404 and r.json["error"]["code"] == "no_booking"
    assert client.get("/api/booking/stream").status_code == 404
    assert client.post("/api/lang", json={"lang": "xx"}).status_code == 400
    assert client.get("/i18n/xx.json").status_code == 404
    r = client.get("/no/such/page")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_the_fleet_key_and_device_token_never_reach_the_browser(client, station_app, cars):
    cars("A")
    token = station_app.extensions["station"].fleet.identity.token
    bodies = [
        client.get("/").data,
        client.get("/api/city").data,
        client.get("/api/cars").data,
        client.post("/api/booking", json={"destination": "E"}).data,
        client.get("/api/booking").data,
        client.get("/operator").data,
    ]
    for body in bodies:
        assert FLEET_KEY.encode() not in body and token.encode() not in body
    trip = client.get("/api/booking").json
    assert "stream_token" not in trip and "stream_url" not in trip


def test_stream_is_relayed_with_the_booking_token(station_url, cars):
    cars("A", script=FakeCarScript(start_delay_s=3, leg_s=2))
    visitor = requests.Session()
    assert visitor.post(f"{station_url}/api/booking", json={"destination": "E"}).status_code == 201
    with visitor.get(f"{station_url}/api/booking/stream", stream=True, timeout=10) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        data = b""
        for chunk in r.iter_content(4096):
            data += chunk
            if data.count(b"\xff\xd8") >= 3:  # three JPEG frames
                break
    assert data.startswith(b"--frame") and b"Content-Type: image/jpeg" in data
    # A second visitor without the booking gets no stream.
    r = requests.get(f"{station_url}/api/booking/stream", timeout=5)
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_booking"


def test_language_follows_the_browser_then_the_choice(client):
    page = client.get("/", headers={"Accept-Language": "ja,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="ja">' in page and "どこへ行きますか" in page
    assert client.post("/api/lang", json={"lang": "th"}).status_code == 200
    page = client.get("/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert '<html lang="th">' in page and "ไปที่ไหนดี" in page
    page = client.application.test_client().get("/", headers={"Accept-Language": "de"})
    assert '<html lang="en">' in page.get_data(as_text=True)
    es = client.get("/i18n/es.json").json
    assert es["messages"]["Where to?"] == "¿Adónde vamos?"


def test_registration_needs_the_right_fleet_key(fleet):
    with pytest.raises(FleetError) as exc:
        create_app(StationConfig(server_url=fleet, fleet_key="wrong-key-123"))
    assert exc.value.code == "bad_fleet_key"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("server_url", "ftp://x"),
        ("fleet_key", "short"),
        ("port", 70000),
        ("nominal_speed_mps", 0),
        ("default_language", "de"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(field, value):
    kwargs = {"fleet_key": FLEET_KEY, field: value}
    with pytest.raises(StationConfigError, match=f"^{field}:"):
        StationConfig(**kwargs)


def test_everything_is_served_locally(client):
    """No CDN: every script, stylesheet and image the pages load comes from the station."""
    import re

    client.post("/operator/login", data={"key": FLEET_KEY})
    for path in ("/", "/operator"):
        page = client.get(path).get_data(as_text=True)
        refs = re.findall(r'(?:src|href)="([^"]*)"', page)
        assert refs, path
        for ref in refs:
            assert ref.startswith(("/", "data:")) or ref == "", (path, ref)
            if ref.startswith("/static/"):
                assert client.get(ref).status_code == 200, ref
    for asset in ("station.js", "station.css", "operator.js", "operator.css"):
        body = client.get(f"/static/{asset}").get_data(as_text=True)
        body = body.replace("http://www.w3.org/2000/svg", "")  # a namespace, not a download
        assert "http://" not in body and "https://" not in body and "@import" not in body
