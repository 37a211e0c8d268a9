"""The simulator's world process: cars in a city, each with an IP camera and a board.

Each simulated car gets what a real car has on the table: a camera that serves JPEG
frames over HTTP (`GET /cars/<id>/shot.jpg`, like a phone IP-camera app) and a control
board on a pseudo-terminal (a `BoardEmulator` running the firmware's own logic). The
car runtime reads one and writes the other; it never knows it is simulated.

Every tick the world reads each board's commanded wheel speeds, moves the cars
(`sim.world.World`), tells each board its wheels' true speed, renders each car's view
and scores the driving (`sim.drive_metrics`).

Two clocks:

- **real time** (the demo): a tick every `tick_s` of wall time;
- **synchronous** (evaluation): the world advances a tick only when every car has
  answered the frame it was last served — asked for its next frame — and its board has
  taken the goals written since, as CARLA's synchronous mode does. Results then do not
  depend on how loaded the machine is. A car that stays silent for `answer_timeout_s`
  is left behind (it stops in place) so one dead car cannot freeze the city.

Frames carry `X-Sim-Time` (seconds of simulated time) and `X-Frame` (tick number).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np

from city import City
from firmware_bridge.emulator import BoardEmulator, EmulatorConfig
from sim.appearance import Appearance
from sim.drive_metrics import DriveMetrics
from sim.pose import Pose
from sim.render import CAR_COLOURS, CarBody, Renderer
from sim.world import World

log = logging.getLogger(__name__)

GOAL_WRITES_PER_ANSWER = 2  # the second write after an answer surely carries its goals


@dataclass(frozen=True)
class WorldServiceConfig:
    """How the world runs. `run_dir` holds the boards' symlinks (`<car id>.board`)."""

    cars: int = 3
    seed: int = 0
    tick_s: float = 0.05
    synchronous: bool = False
    host: str = "127.0.0.1"
    port: int = 0
    run_dir: Path = field(default_factory=lambda: Path("pixelopolis-world"))
    jpeg_quality: int = 85
    answer_timeout_s: float = 60.0
    goal_wait_s: float = 0.2
    randomise_look: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.cars <= 64:
            raise ValueError(f"cars: must be within 1..64, got {self.cars}")
        if not 0.005 <= self.tick_s <= 0.5:
            raise ValueError(f"tick_s: must be within 0.005..0.5, got {self.tick_s}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port: must be within 0..65535, got {self.port}")
        if not 10 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality: must be within 10..100, got {self.jpeg_quality}")
        if self.answer_timeout_s <= 0 or self.goal_wait_s <= 0:
            raise ValueError("answer_timeout_s, goal_wait_s: must be positive")


@dataclass
class SimCar:
    """One car of the world: its board, its newest frame and its place in the handshake."""

    car_id: str
    node: str
    from_node: str
    colour: tuple[int, int, int]
    board: BoardEmulator
    jpeg: bytes = b""
    served: int = 0  # tick of the frame last served to the car
    answered: int = 0  # tick of the last frame the car answered (asked past)
    answer_writes: int = 0  # board goal writes counted when that answer came
    last_seen: float = field(default_factory=time.monotonic)
    left_behind: bool = False
    command: tuple[float, float] = (0.0, 0.0)


def spawn_edges(city: City, count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """`count` distinct roads to start cars on, none ending at the same node."""
    edges = sorted(city.edges)
    order = rng.permutation(len(edges))
    chosen: list[tuple[str, str]] = []
    used_nodes: set[str] = set()
    for k in order:
        frm, to = edges[int(k)]
        if to in used_nodes or frm in used_nodes:
            continue
        chosen.append((frm, to))
        used_nodes.update((frm, to))
        if len(chosen) == count:
            return chosen
    raise ValueError(
        f"cars: this city has room for {len(chosen)} cars apart from each other, not {count}"
    )


def spawn_pose(city: City, frm: str, to: str) -> Pose:
    """On the road frm → to, centred in the lane, just before the junction at `to`."""
    edge = city.edge(frm, to)
    s = max(0.0, edge.lane_length_m - 1.6 * city.lane_width_m)
    x, y, heading, _ = edge.sample(s)
    return Pose(x, y, heading)


class WorldService:
    """The world, its cars' boards and cameras, and its HTTP server."""

    def __init__(self, city: City, config: WorldServiceConfig | None = None) -> None:
        self.city = city
        self.config = config or WorldServiceConfig()
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        look = Appearance.randomised(rng) if cfg.randomise_look else Appearance()
        self.renderer = Renderer(city, appearance=look)
        self.world = World(city)
        self.metrics = DriveMetrics(city)
        self.cars: dict[str, SimCar] = {}
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        for i, (frm, to) in enumerate(spawn_edges(city, cfg.cars, rng)):
            car_id = f"car-{i + 1}"
            link = str(cfg.run_dir / f"{car_id}.board")
            board = BoardEmulator(EmulatorConfig(link=link))
            self.cars[car_id] = SimCar(car_id, to, frm, CAR_COLOURS[i % len(CAR_COLOURS)], board)
            self.world.add_car(car_id, spawn_pose(city, frm, to))
        self.tick = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._http: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._wall_started = 0.0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> dict[str, Any]:
        """Start the boards, render the first frames, serve HTTP; returns `describe()`."""
        for car in self.cars.values():
            car.board.start()
            car.board.set_present_velocity_mps(0.0, 0.0)
        self._render_all()
        self.tick = 1
        handler = type("WorldHandler", (_Handler,), {"service": self})
        self._http = ThreadingHTTPServer((self.config.host, self.config.port), handler)
        self._http.daemon_threads = True
        self._threads = [
            threading.Thread(target=self._http.serve_forever, name="world-http", daemon=True),
            threading.Thread(target=self._run, name="world-ticks", daemon=True),
        ]
        self._wall_started = time.monotonic()
        for t in self._threads:
            t.start()
        log.info(
            "world: %d cars, %s mode, on %s",
            len(self.cars),
            "synchronous" if self.config.synchronous else "real-time",
            self.url,
        )
        return self.describe()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        for t in self._threads:
            t.join(timeout=5)
        for car in self.cars.values():
            car.board.stop()

    @property
    def url(self) -> str:
        assert self._http is not None
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def describe(self) -> dict[str, Any]:
        """Where each car's camera and board are, and where it starts."""
        return {
            "url": self.url,
            "synchronous": self.config.synchronous,
            "tick_s": self.config.tick_s,
            "cars": [
                {
                    "id": car.car_id,
                    "camera": f"{self.url}/cars/{car.car_id}/shot.jpg",
                    "board": str(self.config.run_dir / f"{car.car_id}.board"),
                    "node": car.node,
                    "from_node": car.from_node,
                }
                for car in self.cars.values()
            ],
        }

    # ------------------------------------------------------------------ the clock
    def _run(self) -> None:
        period = self.config.tick_s
        next_at = time.monotonic() + period
        while not self._stop.is_set():
            if self.config.synchronous:
                if not self._wait_for_answers():
                    continue
            else:
                delay = next_at - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                next_at = max(next_at + period, time.monotonic() - period)
                for car in self.cars.values():
                    car.command = car.board.commanded_mps()
            self._advance()

    def _wait_for_answers(self) -> bool:
        """Synchronous mode: True once every live car answered the current frame."""
        with self._cond:
            while not self._stop.is_set():
                now = time.monotonic()
                waiting = [
                    c for c in self.cars.values() if not c.left_behind and c.answered < self.tick
                ]
                for car in waiting:
                    if now - car.last_seen > self.config.answer_timeout_s:
                        silent = now - car.last_seen
                        log.warning("world: %s silent %.0f s: left behind", car.car_id, silent)
                        car.left_behind = True
                if not [c for c in waiting if not c.left_behind]:
                    break
                self._cond.wait(0.5)
            else:
                return False
            answered = [c for c in self.cars.values() if not c.left_behind]
        # One deadline for all: waited one after the other, a tick that left every car's
        # goals stale (boards stop writing goals older than their timeout) cost goal_wait_s
        # per car, and ticks that slow kept timing the cars' cameras out.
        deadline = time.monotonic() + self.config.goal_wait_s
        for car in answered:
            board = car.board
            if not board.wait_for_goal_write(
                car.answer_writes + GOAL_WRITES_PER_ANSWER - 1,
                max(0.0, deadline - time.monotonic()),
            ):
                log.debug("world: %s wrote no goals after frame %d", car.car_id, self.tick)
            car.command = board.commanded_mps()
        for car in self.cars.values():
            if car.left_behind:
                car.command = (0.0, 0.0)
        return True

    def _advance(self) -> None:
        dt = self.config.tick_s
        for car in self.cars.values():
            self.world.set_command(car.car_id, *car.command)
        self.world.step(dt)
        poses = {cid: self.world.state(cid).pose for cid in self.cars}
        self.metrics.update(poses, dt)
        for car in self.cars.values():
            st = self.world.state(car.car_id)
            car.board.set_present_velocity_mps(st.v_left, st.v_right)
        self._render_all()
        with self._cond:
            self.tick += 1
            self._cond.notify_all()

    def _render_all(self) -> None:
        states = {cid: self.world.state(cid) for cid in self.cars}
        quality = [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality]
        for car in self.cars.values():
            others = [
                CarBody(o.car_id, states[o.car_id].pose, o.colour)
                for o in self.cars.values()
                if o.car_id != car.car_id
            ]
            frame = self.renderer.render(states[car.car_id].pose, cars=others)
            ok, data = cv2.imencode(".jpg", frame.image, quality)
            if ok:
                car.jpeg = data.tobytes()

    # ------------------------------------------------------------------ serving
    def next_frame(self, car_id: str, timeout_s: float) -> tuple[bytes, int] | None:
        """The car's next frame (newer than the one it was last served), or None on timeout.

        Asking is the car's answer to the frame it was served before.
        """
        car = self.cars[car_id]
        deadline = time.monotonic() + timeout_s
        with self._cond:
            car.last_seen = time.monotonic()
            if car.left_behind:
                log.info("world: %s is back", car_id)
                car.left_behind = False
            if car.answered < car.served:
                car.answered = car.served
                car.answer_writes = car.board.goal_writes
                self._cond.notify_all()
            while self.tick <= car.served or not car.jpeg:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(remaining)
            car.served = self.tick
            return car.jpeg, self.tick

    def state(self) -> dict[str, Any]:
        """Poses, ticks and the driving scores so far (the `/state` answer)."""
        with self._cond:
            tick = self.tick
        cars = []
        for car in self.cars.values():
            st = self.world.state(car.car_id)
            cars.append(
                {
                    "id": car.car_id,
                    "x": round(st.pose.x, 4),
                    "y": round(st.pose.y, 4),
                    "heading": round(st.pose.heading, 4),
                    "speed_mps": round(st.speed, 4),
                    "left_behind": car.left_behind,
                }
            )
        return {
            "tick": tick,
            "sim_time_s": round(self.world.time_s, 3),
            "wall_time_s": round(time.monotonic() - self._wall_started, 3),
            "cars": cars,
            "metrics": self.metrics.summary().as_dict(),
        }


class _Handler(BaseHTTPRequestHandler):
    service: WorldService
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("world http: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = urlsplit(self.path).path.rstrip("/")
        parts = path.split("/")
        if path == "/state":
            self._json(200, self.service.state())
        elif path == "/health":
            self._json(200, {"status": "ok"})
        elif len(parts) == 4 and parts[1] == "cars" and parts[3] in ("shot.jpg", "frame.jpg"):
            self._frame(parts[2])
        else:
            self._json(404, {"error": {"code": "not_found", "message": f"no route {path}"}})

    def _frame(self, car_id: str) -> None:
        if car_id not in self.service.cars:
            self._json(404, {"error": {"code": "unknown_car", "message": f"no car {car_id!r}"}})
            return
        got = self.service.next_frame(car_id, timeout_s=10.0)
        if got is None:
            self._json(503, {"error": {"code": "no_frame", "message": "no new frame in time"}})
            return
        jpeg, tick = got
        sim_time = (tick - 1) * self.service.config.tick_s
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(jpeg)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Frame", str(tick))
        self.send_header("X-Sim-Time", f"{sim_time:.3f}")
        if self.service.config.synchronous:
            # the next frame comes only when every car has answered this one
            self.send_header("X-Sim-Sync", "1")
        self.end_headers()
        try:
            self.wfile.write(jpeg)
        except (BrokenPipeError, ConnectionResetError):
            log.info("world: %s went before its frame %d was sent", car_id, tick)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
