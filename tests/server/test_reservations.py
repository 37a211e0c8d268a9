"""Exclusive node reservations: one valid holder per node, stale holds are taken over once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from city import default_city
from server import create_app
from tests.helpers.fleet_api import Api, make_config

NODES = sorted(default_city().nodes)
N = NODES[0]


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def make_api(mongo_uri, db_name):
    """An Api on an app with custom timing (liveness timeout, lease); dropped afterwards."""
    apps = []

    def make(**kw) -> tuple[Api, object]:
        app = create_app(make_config(mongo_uri, db_name, **kw), start_reaper=False)
        apps.append(app)
        return Api(app.test_client()), app

    yield make
    for i, app in enumerate(apps):
        client = app.extensions["pixelopolis"].db.client
        if i == 0:
            client.drop_database(db_name)
        client.close()


def test_grant_then_busy_for_another_car(api):
    car, token = api.ready_car(NODES[1])
    other_car, other = api.ready_car(NODES[2])
    r = api.reserve(token, N)
    assert r.status_code == 201, r.json
    assert set(r.json) == {"node", "car", "acquired_at", "expires_at"}
    assert r.json["node"] == N and r.json["car"] == car
    lease = (_ts(r.json["expires_at"]) - _ts(r.json["acquired_at"])).total_seconds()
    assert lease == pytest.approx(10, abs=0.01)
    r = api.reserve(other, N)
    assert r.status_code == 409 and r.json["error"]["code"] == "resource_busy"
    assert r.json["error"]["message"]
    # Another node is independent.
    assert api.reserve(other, NODES[1]).status_code == 201
    listed = api.reservations(token).json["reservations"]
    assert [(x["node"], x["car"]) for x in listed] == sorted([(N, car), (NODES[1], other_car)])


def test_holder_renews_its_lease(api):
    car, token = api.ready_car(NODES[1])
    first = api.reserve(token, N).json
    time.sleep(0.05)
    r = api.reserve(token, N)
    assert r.status_code == 201 and r.json["car"] == car
    assert r.json["acquired_at"] == first["acquired_at"]
    assert _ts(r.json["expires_at"]) > _ts(first["expires_at"])
    assert len(api.reservations(token).json["reservations"]) == 1


def test_release_and_who_may_release(api):
    car, token = api.ready_car(NODES[1])
    _, other = api.ready_car(NODES[2])
    r = api.release(token, N)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_reserved"
    held = api.reserve(token, N).json
    r = api.release(other, N)
    assert r.status_code == 409 and r.json["error"]["code"] == "not_holder"
    r = api.release(token, N)
    assert r.status_code == 200 and r.json == held
    assert api.reservations(token).json == {"reservations": []}
    assert api.release(token, N).json["error"]["code"] == "not_reserved"
    assert api.reserve(other, N).status_code == 201


def test_only_cars_reserve_any_device_lists(api):
    _, station = api.register("station")
    _, token = api.ready_car(NODES[1])
    api.reserve(token, N)
    r = api.reserve(station, N)
    assert r.status_code == 403 and r.json["error"]["code"] == "wrong_device_kind"
    assert api.release(station, N).status_code == 403
    r = api.reservations(station)
    assert r.status_code == 200 and [x["node"] for x in r.json["reservations"]] == [N]
    assert api.client.get("/api/v1/reservations").status_code == 401
    assert api.client.post("/api/v1/reservations", json={"node": N}).status_code == 401


def test_unknown_node_and_bad_bodies(api):
    _, token = api.ready_car(NODES[1])
    for call in (api.reserve(token, "NO-SUCH-NODE"), api.release(token, "NO-SUCH-NODE")):
        assert call.status_code == 404 and call.json["error"]["code"] == "unknown_node"
    for body in ({}, {"node": 7}, {"node": None}, {"node": ""}, {"node": N, "x": 1}, [N]):
        r = api.call("POST", "/reservations", token, json=body)
        assert r.status_code == 400, body
        assert r.json["error"]["code"] == "invalid_request"
    r = api.call(
        "POST", "/reservations", token, data="{no", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json["error"]["code"] == "malformed_json"


def test_hold_of_a_silent_car_is_taken_over(make_api):
    api, _ = make_api(liveness_timeout_s=0.5)
    silent, silent_token = api.ready_car(NODES[1])
    car, token = api.ready_car(NODES[2])
    assert api.reserve(silent_token, N).status_code == 201
    assert api.reserve(token, N).status_code == 409
    time.sleep(0.7)
    api.status(car, token, "ready", NODES[2])  # the taker keeps reporting
    assert api.reservations(token).json["reservations"] == []  # an invalid hold is not listed
    # The silent car's leftover is nobody's: not_reserved for others.
    assert api.release(token, N).json["error"]["code"] == "not_reserved"
    r = api.reserve(token, N)
    assert r.status_code == 201 and r.json["car"] == car
    # The old holder, back again, finds its node taken.
    api.status(silent, silent_token, "ready", NODES[1])
    r = api.reserve(silent_token, N)
    assert r.status_code == 409 and r.json["error"]["code"] == "resource_busy"
    assert api.release(silent_token, N).json["error"]["code"] == "not_holder"


def test_expired_lease_is_taken_over(make_api):
    api, _ = make_api(reservation_lease_s=0.3)
    _, first = api.ready_car(NODES[1])
    second_car, second = api.ready_car(NODES[2])
    assert api.reserve(first, N).status_code == 201
    assert api.reserve(second, N).status_code == 409
    time.sleep(0.4)
    assert api.reservations(first).json["reservations"] == []
    r = api.reserve(second, N)
    assert r.status_code == 201 and r.json["car"] == second_car
    assert api.reserve(first, N).status_code == 409


def test_renewing_keeps_a_short_lease_alive(make_api):
    api, _ = make_api(reservation_lease_s=0.4)
    _, holder = api.ready_car(NODES[1])
    _, other = api.ready_car(NODES[2])
    assert api.reserve(holder, N).status_code == 201
    for _ in range(4):
        time.sleep(0.2)
        assert api.reserve(holder, N).status_code == 201
        assert api.reserve(other, N).status_code == 409


def test_own_expired_hold_can_still_be_released(make_api):
    api, _ = make_api(reservation_lease_s=0.2)
    car, token = api.ready_car(NODES[1])
    api.reserve(token, N)
    time.sleep(0.3)
    r = api.release(token, N)
    assert r.status_code == 200 and r.json["car"] == car


def test_sweep_deletes_expired_leases_only(make_api):
    api, app = make_api(reservation_lease_s=0.4)
    sweep = app.extensions["pixelopolis"].reservations.sweep
    db = app.extensions["pixelopolis"].db
    _, a = api.ready_car(NODES[1])
    b_car, b = api.ready_car(NODES[2])
    assert api.reserve(a, NODES[0]).status_code == 201  # a's lease will run out
    assert api.reserve(b, NODES[3]).status_code == 201
    assert sweep() == 0
    time.sleep(0.25)
    assert api.reserve(b, NODES[3]).status_code == 201  # b renews
    time.sleep(0.25)
    assert sweep() == 1 and sweep() == 0
    assert {d["_id"]: d["car"] for d in db.reservations.find({})} == {NODES[3]: b_car}


def test_sweep_deletes_holds_of_silent_cars(make_api):
    api, app = make_api(liveness_timeout_s=0.4, reservation_lease_s=60)
    sweep = app.extensions["pixelopolis"].reservations.sweep
    db = app.extensions["pixelopolis"].db
    _, silent = api.ready_car(NODES[1])
    alive_car, alive = api.ready_car(NODES[2])
    api.reserve(silent, NODES[0])
    api.reserve(alive, NODES[3])
    assert sweep() == 0
    time.sleep(0.5)
    api.status(alive_car, alive, "ready", NODES[2])
    assert sweep() == 1 and sweep() == 0
    assert {d["_id"]: d["car"] for d in db.reservations.find({})} == {NODES[3]: alive_car}


def test_eight_cars_racing_for_a_stale_hold_one_wins(make_api):
    """Through the app in threads: of 8 cars taking over an expired hold, exactly one wins."""
    api, app = make_api(reservation_lease_s=0.3)
    cars = [api.ready_car(NODES[i % len(NODES)], f"c{i}") for i in range(9)]
    _, holder = cars.pop()
    for round_no in range(3):
        node = NODES[round_no]
        assert api.reserve(holder, node).status_code == 201
        time.sleep(0.4)
        for car, token in cars:  # fresh heartbeats, the old holder's lease has run out
            api.status(car, token, "ready", NODES[1])
        barrier = threading.Barrier(len(cars))

        def race(token: str, node: str = node, barrier: threading.Barrier = barrier):
            client = Api(app.test_client())
            barrier.wait()
            r = client.reserve(token, node)
            return r.status_code, r.json

        with ThreadPoolExecutor(len(cars)) as pool:
            results = list(pool.map(race, [t for _, t in cars]))
        codes = [c for c, _ in results]
        assert codes.count(201) == 1 and codes.count(409) == len(cars) - 1, results
        winner = next(body["car"] for c, body in results if c == 201)
        listed = api.reservations(holder).json["reservations"]
        assert [(x["node"], x["car"]) for x in listed] == [(node, winner)]
        api.release(dict(cars)[winner], node)


# -- the real server: several gunicorn workers, cars racing over HTTP ----------------------

KEY = "reservations-key-123"
RACERS = 8


@pytest.fixture
def server(tmp_path, mongo_uri, db_name):
    import requests
    from pymongo import MongoClient

    from tests.helpers.server_process import running_server

    extra = ["--db", mongo_uri, "--database", db_name, "--liveness-timeout", "60"]
    with running_server(tmp_path, fleet_key=KEY, workers=3, extra=extra) as (base, _):
        client = MongoClient(mongo_uri)

        def register(name: str) -> tuple[str, dict]:
            r = requests.post(
                f"{base}/devices",
                json={"kind": "car", "name": name},
                headers={"X-Fleet-Key": KEY},
                timeout=10,
            )
            r.raise_for_status()
            return r.json()["id"], {"Authorization": f"Bearer {r.json()['token']}"}

        yield base, register, client[db_name]
        client.drop_database(db_name)
        client.close()


def _race(base: str, headers: list[dict], node: str) -> list[tuple[int, dict]]:
    import requests

    barrier = threading.Barrier(len(headers))

    def reserve(h: dict) -> tuple[int, dict]:
        barrier.wait()
        r = requests.post(f"{base}/reservations", json={"node": node}, headers=h, timeout=30)
        return r.status_code, r.json()

    with ThreadPoolExecutor(len(headers)) as pool:
        return list(pool.map(reserve, headers))


@pytest.mark.slow
def test_eight_cars_racing_through_gunicorn_exactly_one_wins(server):
    import requests

    base, register, db = server
    cars = [register(f"car{i}") for i in range(RACERS)]
    for i, (car, h) in enumerate(cars):
        body = {"state": "ready", "node": NODES[i % len(NODES)]}
        assert requests.put(f"{base}/cars/{car}/status", json=body, headers=h, timeout=10).ok
    by_id = dict(cars)
    headers = [h for _, h in cars]

    def one_winner(node: str) -> str:
        results = _race(base, headers, node)
        codes = [code for code, _ in results]
        assert codes.count(201) == 1 and codes.count(409) == RACERS - 1, results
        assert all(b["error"]["code"] == "resource_busy" for c, b in results if c == 409)
        winner = next(b["car"] for c, b in results if c == 201)
        assert db.reservations.find_one({"_id": node})["car"] == winner
        return winner

    # Free nodes, and a node released by its holder, raced for again.
    for node in NODES[:3]:
        winner = one_winner(node)
        r = requests.delete(f"{base}/reservations/{node}", headers=by_id[winner], timeout=10)
        assert r.status_code == 200 and r.json()["car"] == winner
        one_winner(node)
    # A hold of a car that never reported (not alive) is taken over by exactly one racer.
    _, ghost = register("ghost")
    node = NODES[-1]
    r = requests.post(f"{base}/reservations", json={"node": node}, headers=ghost, timeout=10)
    assert r.status_code == 201
    one_winner(node)
    listed = requests.get(f"{base}/reservations", headers=headers[0], timeout=10).json()
    assert sorted(x["node"] for x in listed["reservations"]) == sorted([*NODES[:3], node])
    assert db.reservations.count_documents({}) == 4
