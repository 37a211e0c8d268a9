"""The car loop against a real fleet server and a real (emulated) board.

Camera and models are scripted (fakes are for tests only): the camera serves blank
frames on a simulated clock, the lane model steers straight, and the "detector" shows
the sign of whichever node the test says is in view. Everything else is the product:
the loop, its threads, the planner, the fleet client, the board driver and the server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from city import default_city
from firmware_bridge.serial_board import SerialBoardConfig
from tests.helpers.server_process import running_server
from vehicle.fleet_client import FleetClient, FleetClientConfig
from vehicle.interfaces import CameraFrame, CameraSource
from vehicle.localization import LocalizationConfig
from vehicle.motors import SerialMotorBoardAdapter
from vehicle.perception.detections import Detection
from vehicle.planner import PlannerConfig
from vehicle.runtime import CarRuntime, RuntimeConfig

KEY = "runtime-test-fleet-key-0123456789"


class ClockCamera(CameraSource):
    """Blank frames stamped with a simulated clock, 20 per simulated second."""

    def __init__(self) -> None:
        self.t = 0.0
        self.seq = 0

    def connect(self) -> None:
        pass

    def read(self, timeout_s: float) -> CameraFrame | None:
        time.sleep(0.005)
        self.t += 0.05
        self.seq += 1
        image = np.zeros((240, 320, 3), np.uint8)
        return CameraFrame(image, time.monotonic(), self.seq, {"X-Sim-Time": f"{self.t:.3f}"})

    def close(self) -> None:
        pass


class Straight:
    def steer(self, frame_bgr: np.ndarray, command: str) -> float:
        return 0.0


class ShownSign:
    """Shows the sign the test puts in view, where a passed sign stands (right, near)."""

    def __init__(self) -> None:
        self.sign: str | None = None

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        if self.sign is None:
            return []
        return [Detection(self.sign, 0.95, (0.3, 0.7, 0.6, 0.85))]


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def server_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("fleet-server")
    # a short liveness timeout: a car of an earlier test goes offline, never booked again
    with running_server(data, fleet_key=KEY, extra=["--liveness-timeout", "2"]) as (base, _):
        yield base


@pytest.mark.slow
def test_a_booked_trip_is_driven_reported_and_closed(server_base, emulator, tmp_path: Path):
    city = default_city()
    (frm, node) = sorted(city.edges)[0]
    destination = next(
        n for n in sorted(city.nodes) if len(city.route(node, n, arrived_from=frm).steps) >= 4
    )
    fleet = FleetClient(FleetClientConfig(server_url=server_base, fleet_key=KEY, name="rt"))
    detector = ShownSign()
    board = SerialMotorBoardAdapter(SerialBoardConfig(port=emulator.path))
    runtime = CarRuntime(
        camera=ClockCamera(),
        board=board,
        fleet=fleet,
        lane=Straight(),
        detector=detector,
        node=node,
        from_node=frm,
        # Signs are shown on a timer here, not where the car's odometry puts it: no
        # odometry floor for a reach (tests/vehicle/test_localization.py covers it).
        config=RuntimeConfig(
            booking_poll_s=0.1,
            planner=PlannerConfig(localization=LocalizationConfig(reach_min_leg_fraction=0.0)),
        ),
    )
    car_id = fleet.register()
    stop = threading.Event()
    runtime.start()
    loop = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
    loop.start()
    try:
        station = requests.post(
            f"{server_base}/devices",
            json={"kind": "station", "name": "s"},
            headers={"X-Fleet-Key": KEY},
            timeout=5,
        ).json()["token"]
        auth = {"Authorization": f"Bearer {station}"}

        def car() -> dict:
            cars = requests.get(f"{server_base}/cars", headers=auth, timeout=5).json()["cars"]
            return next(c for c in cars if c["id"] == car_id)

        wait_until(lambda: car()["state"] == "ready" and car()["from_node"] == frm)
        r = requests.post(
            f"{server_base}/bookings", json={"destination": destination}, headers=auth, timeout=5
        )
        assert r.status_code == 201, r.text
        booking = r.json()
        assert booking["car"] == car_id
        steps = booking["route"]["steps"]
        assert steps[0]["turn"] != "depart"  # routed from the road the car stands on

        # the car drives off: the board gets forward goals
        wait_until(lambda: sum(emulator.commanded_mps()) > 0.05)
        for step in steps[1:]:
            # the sign comes into view (the car asks for the node), then leaves it as the
            # car draws level with it: the node is passed
            detector.sign = step["sign"]
            time.sleep(0.6)
            detector.sign = None
            wait_until(
                lambda s=step: (
                    s["node"]
                    in requests.get(
                        f"{server_base}/bookings/{booking['id']}", headers=auth, timeout=5
                    ).json()["passed"]
                )
            )
        final = requests.get(f"{server_base}/bookings/{booking['id']}", headers=auth, timeout=5)
        wait_until(
            lambda: (
                requests.get(
                    f"{server_base}/bookings/{booking['id']}", headers=auth, timeout=5
                ).json()["status"]
                == "arrived"
            )
        )
        assert final.status_code == 200
        # stopped at the destination, ready again, knowing the road it came in by
        wait_until(lambda: car()["state"] == "ready" and car()["booking"] is None)
        assert car()["node"] == destination and car()["from_node"] == steps[-2]["node"]
        wait_until(lambda: emulator.commanded_mps() == (0.0, 0.0))
        reservations = requests.get(f"{server_base}/reservations", headers=auth, timeout=5)
        assert reservations.json()["reservations"] == []  # every node given back
        timings = runtime.timings.summary()
        assert timings["total"]["n"] > 20
    finally:
        stop.set()
        loop.join(timeout=5)
        runtime.close()
        fleet.close()


@pytest.mark.slow
def test_an_operator_pause_holds_the_car_still_until_released(server_base, emulator):
    city = default_city()
    (frm, node) = sorted(city.edges)[1]
    destination = next(n for n in sorted(city.nodes) if n not in (frm, node))
    fleet = FleetClient(
        FleetClientConfig(server_url=server_base, fleet_key=KEY, name="pause", heartbeat_s=0.1)
    )
    board = SerialMotorBoardAdapter(SerialBoardConfig(port=emulator.path))
    runtime = CarRuntime(
        camera=ClockCamera(),
        board=board,
        fleet=fleet,
        lane=Straight(),
        detector=ShownSign(),
        node=node,
        from_node=frm,
        config=RuntimeConfig(booking_poll_s=0.1),
    )
    car_id = fleet.register()
    stop = threading.Event()
    runtime.start()
    loop = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
    loop.start()
    operator = {"X-Fleet-Key": KEY}
    try:
        station = requests.post(
            f"{server_base}/devices",
            json={"kind": "station", "name": "s2"},
            headers=operator,
            timeout=5,
        ).json()["token"]
        auth = {"Authorization": f"Bearer {station}"}

        def booked_ours() -> bool:
            r = requests.post(
                f"{server_base}/bookings",
                json={"destination": destination},
                headers=auth,
                timeout=5,
            )
            if r.status_code != 201:
                return False
            if r.json()["car"] != car_id:  # another test's car, not yet offline
                requests.post(
                    f"{server_base}/bookings/{r.json()['id']}/cancel", headers=auth, timeout=5
                )
                return False
            return True

        wait_until(booked_ours)
        wait_until(lambda: sum(emulator.commanded_mps()) > 0.05)
        r = requests.put(
            f"{server_base}/cars/{car_id}/service",
            json={"service": "paused"},
            headers=operator,
            timeout=5,
        )
        assert r.status_code == 200, r.text
        wait_until(lambda: emulator.commanded_mps() == (0.0, 0.0))
        time.sleep(0.5)
        assert emulator.commanded_mps() == (0.0, 0.0)  # it stays still
        requests.put(
            f"{server_base}/cars/{car_id}/service",
            json={"service": "in_service"},
            headers=operator,
            timeout=5,
        )
        wait_until(lambda: sum(emulator.commanded_mps()) > 0.05)
    finally:
        stop.set()
        loop.join(timeout=5)
        runtime.close()
        fleet.close()
