"""The world process: cameras over HTTP, boards on ptys, and the synchronous handshake."""

from __future__ import annotations

import math
import threading
import time

import cv2
import numpy as np
import pytest
import requests

from city import default_city
from firmware_bridge.serial_board import SerialBoardConfig, SerialMotorBoard
from sim.world_service import WorldService, WorldServiceConfig, spawn_edges


@pytest.fixture
def world(tmp_path):
    service = WorldService(
        default_city(), WorldServiceConfig(cars=2, synchronous=True, run_dir=tmp_path, seed=1)
    )
    info = service.start()
    boards = [SerialMotorBoard(SerialBoardConfig(port=c["board"])) for c in info["cars"]]
    for b in boards:
        b.connect()
        b.set_torque(True)
    yield service, info, boards
    for b in boards:
        b.disconnect()
    service.stop()


def _drive(camera_url: str, board: SerialMotorBoard, speeds, frames: int, out: list) -> None:
    session = requests.Session()
    for _ in range(frames):
        board.set_wheel_speeds(*speeds)
        r = session.get(camera_url, timeout=10)
        assert r.status_code == 200
        assert r.headers["X-Sim-Sync"] == "1"  # the car waits as long as the world does
        out.append((int(r.headers["X-Frame"]), float(r.headers["X-Sim-Time"]), r.content))


def test_frames_are_jpegs_from_each_cars_camera(world):
    service, info, _ = world
    got = []
    threads = [
        threading.Thread(target=_drive, args=(c["camera"], b, (0.0, 0.0), 1, got))
        for c, b in zip(info["cars"], world[2], strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    images = [cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) for *_, jpeg in got]
    assert all(im.shape == (240, 320, 3) for im in images)
    assert not np.array_equal(images[0], images[1])  # two places, two views
    assert requests.get(info["url"] + "/cars/nope/shot.jpg", timeout=5).status_code == 404


def test_the_world_waits_for_every_car_and_moves_them_by_their_boards(world):
    service, info, boards = world
    a, b = info["cars"]
    got_a: list = []
    _drive(a["camera"], boards[0], (0.15, 0.15), 1, got_a)
    # car a answers its frame, car b has not asked for anything: no new tick for a
    boards[0].set_wheel_speeds(0.15, 0.15)
    assert service.next_frame(a["id"], timeout_s=0.5) is None
    got_b: list = []
    threads = [
        threading.Thread(target=_drive, args=(a["camera"], boards[0], (0.15, 0.15), 40, got_a)),
        threading.Thread(target=_drive, args=(b["camera"], boards[1], (0.0, 0.0), 41, got_b)),
    ]
    start = {c["id"]: service.world.state(c["id"]).pose for c in info["cars"]}
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ticks = [tick for tick, *_ in got_a]
    assert ticks == sorted(ticks) and len(set(ticks)) == len(ticks)  # every frame a new tick
    moved = service.world.state(a["id"]).pose
    still = service.world.state(b["id"]).pose
    travelled = math.hypot(moved.x - start[a["id"]].x, moved.y - start[a["id"]].y)
    sim_s = got_a[-1][1] - got_a[0][1]
    assert 0.7 * 0.15 * sim_s < travelled <= 0.15 * sim_s + 0.01
    assert (still.x, still.y) == (start[b["id"]].x, start[b["id"]].y)
    # the board reports the world's wheel speeds (what the car's odometry reads)
    time.sleep(0.05)
    assert boards[0].telemetry().left_mps == pytest.approx(0.15, abs=0.01)
    state = requests.get(info["url"] + "/state", timeout=5).json()
    assert state["metrics"]["collisions"] == 0 and state["tick"] >= 41


def test_torque_off_stops_the_car_whatever_the_goal(world):
    service, info, boards = world
    a, b = info["cars"]
    boards[0].set_torque(False)
    time.sleep(0.1)
    start = service.world.state(a["id"]).pose
    threads = [
        threading.Thread(target=_drive, args=(a["camera"], boards[0], (0.2, 0.2), 20, [])),
        threading.Thread(target=_drive, args=(b["camera"], boards[1], (0.0, 0.0), 20, [])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = service.world.state(a["id"]).pose
    assert (end.x, end.y) == (start.x, start.y)


def test_spawn_places_are_apart_and_too_many_cars_is_a_clear_error():
    city = default_city()
    rng = np.random.default_rng(0)
    edges = spawn_edges(city, 4, rng)
    nodes = [n for e in edges for n in e]
    assert len(nodes) == len(set(nodes))
    with pytest.raises(ValueError, match="room for"):
        spawn_edges(city, 60, rng)
