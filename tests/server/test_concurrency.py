"""Many stations at once through several gunicorn workers: no car is ever booked twice.

The server runs as a real process on the session's database, so the test can check
the stored state directly afterwards.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from pymongo import MongoClient

from city import default_city
from tests.helpers.server_process import running_server, worker_pids

pytestmark = pytest.mark.slow
KEY = "concurrency-key-123"
CARS, STATIONS = 8, 32


def _register(base: str, kind: str, name: str) -> tuple[str, dict]:
    r = requests.post(
        f"{base}/devices",
        json={"kind": kind, "name": name},
        headers={"X-Fleet-Key": KEY},
        timeout=10,
    )
    r.raise_for_status()
    return r.json()["id"], {"Authorization": f"Bearer {r.json()['token']}"}


def _fleet(base: str):
    nodes = sorted(default_city().nodes)
    cars = [(*_register(base, "car", f"car{i}"), nodes[i % len(nodes)]) for i in range(CARS)]
    stations = [_register(base, "station", f"st{i}")[1] for i in range(STATIONS)]
    return nodes, cars, stations


def _all_ready(base: str, cars) -> None:
    for car, headers, node in cars:
        r = requests.put(
            f"{base}/cars/{car}/status",
            json={"state": "ready", "node": node},
            headers=headers,
            timeout=10,
        )
        assert r.status_code == 200, r.text


def _book_all_at_once(base: str, stations, nodes) -> list[tuple[int | None, dict]]:
    barrier = threading.Barrier(len(stations))

    def book(i: int):
        barrier.wait()
        try:
            r = requests.post(
                f"{base}/bookings",
                json={"destination": nodes[i % len(nodes)]},
                headers=stations[i],
                timeout=30,
            )
            return r.status_code, r.json()
        except requests.RequestException:
            return None, {}  # connection cut by a killed worker: outcome unknown to the client

    with ThreadPoolExecutor(len(stations)) as pool:
        return list(pool.map(book, range(len(stations))))


def _check_database(db) -> None:
    open_cars = [b["car"] for b in db.bookings.find({"open": True})]
    assert len(open_cars) == len(set(open_cars)), "a car is in two open bookings"
    for b in db.bookings.find({"open": True}):
        assert db.cars.find_one({"_id": b["car"]})["booking"] == b["_id"]


def _finish_all(base: str, cars, db) -> None:
    for car, headers, _ in cars:
        doc = db.bookings.find_one({"car": car, "open": True})
        if doc:
            r = requests.post(f"{base}/bookings/{doc['_id']}/arrived", headers=headers, timeout=10)
            assert r.status_code == 200, r.text


@pytest.fixture
def server(tmp_path, mongo_uri, db_name):
    extra = ["--db", mongo_uri, "--database", db_name, "--liveness-timeout", "60"]
    with running_server(tmp_path, fleet_key=KEY, workers=3, extra=extra) as (base, proc):
        client = MongoClient(mongo_uri)
        yield base, proc, client[db_name]
        client.drop_database(db_name)
        client.close()


def test_32_stations_8_cars_exactly_8_bookings(server):
    base, _, db = server
    nodes, cars, stations = _fleet(base)
    _all_ready(base, cars)
    results = _book_all_at_once(base, stations, nodes)
    codes = [code for code, _ in results]
    assert codes.count(201) == CARS and codes.count(409) == STATIONS - CARS
    booked = [body["car"] for code, body in results if code == 201]
    assert sorted(booked) == sorted(car for car, _, _ in cars)
    assert all(body["error"]["code"] == "no_car_available" for c, body in results if c == 409)
    assert db.bookings.count_documents({"open": True}) == CARS
    _check_database(db)


def test_worker_killed_mid_run_loses_and_doubles_nothing(server):
    base, proc, db = server
    nodes, cars, stations = _fleet(base)
    confirmed: list[tuple[str, str]] = []
    killed = []
    for round_no in range(6):
        _all_ready(base, cars)
        if round_no in (2, 4):
            victim = random.choice(worker_pids(proc.pid))
            timer = threading.Timer(
                0.02, lambda v=victim: (os.kill(v, signal.SIGKILL), killed.append(v))
            )
            timer.start()
        results = _book_all_at_once(base, stations, nodes)
        ok = [body for code, body in results if code == 201]
        assert all(code in (201, 409, 503, None) for code, _ in results), results
        assert len(ok) <= CARS
        assert len({b["car"] for b in ok}) == len(ok), "a car was given to two stations"
        confirmed += [(b["id"], b["car"]) for b in ok]
        _check_database(db)
        # The gunicorn master replaces a killed worker; wait until it serves again.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        _finish_all(base, cars, db)
    assert len(killed) == 2
    # Nothing lost: every booking a station was told about is stored, with its car.
    for bid, car in confirmed:
        doc = db.bookings.find_one({"_id": bid})
        assert doc is not None and doc["car"] == car and doc["status"] == "arrived"
    _check_database(db)
