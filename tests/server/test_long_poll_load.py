"""A fleet of idle cars long-polling must not starve the stations."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from city import default_city
from tests.helpers.server_process import running_server

pytestmark = pytest.mark.slow
KEY = "long-poll-key-123"
IDLE_CARS = 40


def _register(base: str, kind: str) -> tuple[str, dict]:
    r = requests.post(
        f"{base}/devices",
        json={"kind": kind, "name": kind},
        headers={"X-Fleet-Key": KEY},
        timeout=10,
    )
    return r.json()["id"], {"Authorization": f"Bearer {r.json()['token']}"}


def test_idle_cars_waiting_do_not_block_bookings(tmp_path, mongo_uri, db_name):
    nodes = sorted(default_city().nodes)
    extra = ["--db", mongo_uri, "--database", db_name, "--liveness-timeout", "60"]
    with running_server(tmp_path, fleet_key=KEY, workers=2, extra=extra) as (base, _):
        cars = [_register(base, "car") for _ in range(IDLE_CARS)]
        for i, (car, h) in enumerate(cars):
            requests.put(
                f"{base}/cars/{car}/status",
                json={"state": "ready", "node": nodes[i % len(nodes)]},
                headers=h,
                timeout=10,
            ).raise_for_status()
        outcomes: dict[str, tuple[int, float]] = {}

        def poll(car: str, h: dict) -> None:
            started = time.monotonic()
            r = requests.get(f"{base}/cars/{car}/assignment?wait=8", headers=h, timeout=20)
            outcomes[car] = (r.status_code, time.monotonic() - started)

        threads = [threading.Thread(target=poll, args=c) for c in cars]
        for t in threads:
            t.start()
        time.sleep(1.0)  # every car is now parked in a long poll
        _, station = _register(base, "station")
        latencies, booked = [], []
        for i in range(5):
            started = time.monotonic()
            r = requests.post(
                f"{base}/bookings", json={"destination": nodes[i]}, headers=station, timeout=10
            )
            latencies.append(time.monotonic() - started)
            assert r.status_code == 201, r.text
            booked.append(r.json()["car"])
        for t in threads:
            t.join(20)
        assert max(latencies) < 1.0, latencies
        for car in booked:  # the booked cars heard of it long before their wait ran out
            status, waited = outcomes[car]
            assert status == 200 and waited < 4
        assert sum(1 for s, _ in outcomes.values() if s == 204) == IDLE_CARS - 5
