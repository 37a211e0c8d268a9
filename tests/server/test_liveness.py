"""A silent car counts as offline: its booking fails and it is not assigned until it reports."""

from __future__ import annotations

import time

import pytest

from city import default_city
from server import create_app
from tests.helpers.fleet_api import Api, make_config


@pytest.fixture
def fast_api(mongo_uri, db_name):
    app = create_app(make_config(mongo_uri, db_name, liveness_timeout_s=0.5), start_reaper=False)
    yield Api(app.test_client()), app
    app.extensions["pixelopolis"].db.client.drop_database(db_name)


def test_silent_car_is_not_assigned_until_it_reports_again(fast_api):
    api, _ = fast_api
    a, b = sorted(default_city().nodes)[:2]
    car, token = api.ready_car(b)
    _, station = api.register("station")
    time.sleep(0.7)
    assert api.book(station, a).status_code == 409
    api.status(car, token, "ready", b)
    assert api.book(station, a).status_code == 201


def test_open_booking_of_a_silent_car_fails(fast_api):
    api, app = fast_api
    a, b = sorted(default_city().nodes)[:2]
    car, token = api.ready_car(b)
    _, station = api.register("station")
    bid = api.book(station, a).json["id"]
    api.status(car, token, "driving", b)
    time.sleep(0.7)
    r = api.call("GET", f"/bookings/{bid}", station)
    assert r.json["status"] == "failed" and r.json["reason"]
    # The sweep is idempotent and the car is free (but offline) afterwards.
    assert app.extensions["pixelopolis"].fleet.fail_silent_cars() == 0
    assert api.call("GET", f"/cars/{car}/assignment", token).status_code == 204
    api.status(car, token, "ready", b)
    assert api.book(station, a).json["car"] == car


def test_sweep_fails_bookings_without_anyone_asking(fast_api):
    api, app = fast_api
    a, b = sorted(default_city().nodes)[:2]
    api.ready_car(b)
    _, station = api.register("station")
    bid = api.book(station, a).json["id"]
    time.sleep(0.7)
    assert app.extensions["pixelopolis"].fleet.fail_silent_cars() == 1
    doc = app.extensions["pixelopolis"].db.bookings.find_one({"_id": bid})
    assert doc["status"] == "failed" and doc["open"] is False


def test_orphaned_claim_is_released(fast_api):
    """A worker that died between claiming a car and writing the booking leaves no stuck car."""
    from datetime import timedelta

    api, app = fast_api
    a, b = sorted(default_city().nodes)[:2]
    car, _ = api.ready_car(b)
    svc = app.extensions["pixelopolis"]
    long_ago = svc.fleet.cutoff() - timedelta(seconds=60)
    svc.db.cars.update_one({"_id": car}, {"$set": {"booking": "bk-ghost", "claimed_at": long_ago}})
    assert svc.fleet.repair_orphan_claims() == 1
    assert svc.db.cars.find_one({"_id": car})["booking"] is None
