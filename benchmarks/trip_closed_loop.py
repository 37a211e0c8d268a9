"""Whole trips in one process: the car's models and planner drive the simulated city.

What `pixelopolis eval drive` does without the processes, the server and the serial
link, so that a failure can be found in seconds and looked at: each car runs the
shipped lane model, the two-stage sign detector (the car's defaults) and the real
`vehicle.planner.Planner` on rendered frames (JPEG-coded as the world serves them);
node reservations come from an in-process table (one car per node, as the server's)
and a reroute asks `City.route` from `vehicle.runtime.reroute_origin`, as the server
would. Trips are random destinations, one after the other for each car.

For every trip it reports whether it arrived, and for a failed one where the car truly
was (nearest node, pose) when each localization event or stop happened — the ground
truth that the car's own log cannot give.

    .venv/bin/python benchmarks/trip_closed_loop.py [--city default] [--cars 1] \\
        [--trips 10] [--seed 1] [--json] [--trace DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.lane_closed_loop import parse_city  # noqa: E402
from city import City, NoRouteError  # noqa: E402
from pixelopolis.errors import UsageError  # noqa: E402
from sim.drive_metrics import DriveMetrics  # noqa: E402
from sim.render import CAR_COLOURS, CarBody, Renderer  # noqa: E402
from sim.world import World  # noqa: E402
from sim.world_service import spawn_edges, spawn_pose  # noqa: E402
from vehicle.config import ConfigError, load_car_config  # noqa: E402
from vehicle.planner import Planner, PlannerInput, PlannerOutput  # noqa: E402
from vehicle.runtime import leg_lengths, reroute_origin  # noqa: E402
from vehicle.sign_map import SignMap  # noqa: E402

log = logging.getLogger("trip_closed_loop")

DT_S = 0.05
JPEG_QUALITY = 85


@dataclass
class Moment:
    """Something the planner did, and where the car truly was."""

    t: float
    what: str
    near: str
    x: float
    y: float
    heading_deg: float


@dataclass
class TripResult:
    car: str
    start: str
    destination: str
    route: list[str]
    arrived: bool
    seconds: float
    reroutes: int
    moments: list[Moment] = field(default_factory=list)


@dataclass
class _Car:
    car_id: str
    planner: Planner
    node: str
    from_node: str | None
    odometry: float = 0.0
    yaw: float = 0.0
    command: str = "straight"
    booking: dict[str, Any] | None = None
    legs: tuple[float, ...] | None = None
    granted: bool | None = None
    trip: TripResult | None = None
    trip_started: float = 0.0
    trips_done: int = 0
    last_out: PlannerOutput | None = None


class _Reservations:
    """One car per node, with the server's 10 s lease (a reserve renews it)."""

    LEASE_S = 10.0

    def __init__(self) -> None:
        self.holder: dict[str, tuple[str, float]] = {}  # node -> (car, expires at)
        self.now = 0.0

    def held_by(self, node: str) -> str | None:
        held = self.holder.get(node)
        return held[0] if held is not None and held[1] > self.now else None

    def reserve(self, car: str, node: str) -> bool:
        if self.held_by(node) not in (None, car):
            return False
        self.holder[node] = (car, self.now + self.LEASE_S)
        return True

    def release(self, car: str, node: str) -> None:
        if self.held_by(node) == car:
            del self.holder[node]

    def release_all(self, car: str) -> None:
        for node in [n for n in self.holder if self.held_by(n) == car]:
            del self.holder[node]

    def holding(self, car: str) -> list[str]:
        return sorted(n for n in self.holder if self.held_by(n) == car)


def _route(city: City, node: str, from_node: str | None, destination: str) -> dict[str, Any]:
    """The route the server gives (`server.fleet.Fleet._route_from`): from the road the car
    came by if it is known and some turn from it leads there, else from any heading."""
    if from_node is not None and (from_node, node) in city.edges:
        try:
            return city.route(node, destination, arrived_from=from_node).to_dict()
        except NoRouteError:
            pass
    return city.route(node, destination).to_dict()


def drive(
    city: City,
    *,
    cars: int,
    trips: int,
    seed: int,
    car_config: str | None,
    max_trip_s: float,
    trace: Path | None,
) -> tuple[list[TripResult], dict[str, Any]]:
    from pixelopolis.commands.car import _load_models

    config = load_car_config(car_config)
    lane, detector = _load_models(config)
    rng = np.random.default_rng(seed)
    renderer = Renderer(city)
    sign_map = SignMap(city)
    world = World(city)
    metrics = DriveMetrics(city)
    table = _Reservations()
    fleet: dict[str, _Car] = {}
    colours: dict[str, tuple[int, int, int]] = {}
    for i, (frm, to) in enumerate(spawn_edges(city, cars, rng)):
        car_id = f"car-{i + 1}"
        world.add_car(car_id, spawn_pose(city, frm, to))
        colours[car_id] = CAR_COLOURS[i % len(CAR_COLOURS)]
        fleet[car_id] = _Car(car_id, Planner(config.runtime.planner), to, frm)
    nodes = sorted(city.nodes)
    track_m = config.runtime.planner.geometry.wheel_base_m
    results: list[TripResult] = []
    booked = 0
    t = 0.0
    started = time.perf_counter()
    bar = tqdm(total=trips, unit="trip", desc="trips")
    quality = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    frames = None
    if trace is not None:
        trace.mkdir(parents=True, exist_ok=True)
        frames = (trace / "frames.jsonl").open("w")
    while len(results) < trips and any(c.booking or booked < trips for c in fleet.values()):
        for car in fleet.values():
            if car.booking is None and booked < trips:
                destination = str(rng.choice([n for n in nodes if n != car.node]))
                route = _route(city, car.node, car.from_node, destination)
                booked += 1
                car.booking = {"id": f"b{booked}", "destination": destination, "route": route}
                car.legs = leg_lengths(city, route)
                car.trip = TripResult(
                    car.car_id,
                    car.node,
                    destination,
                    [s["node"] for s in route["steps"]],
                    False,
                    0.0,
                    0,
                )
                car.trip_started = t
        table.now = t
        states = {cid: world.state(cid) for cid in fleet}
        for car in fleet.values():
            pose = states[car.car_id].pose
            others = [CarBody(o, states[o].pose, colours[o]) for o in fleet if o != car.car_id]
            image = renderer.render(pose, cars=others).image
            ok, data = cv2.imencode(".jpg", image, quality)
            image = cv2.imdecode(data, cv2.IMREAD_COLOR)
            steering = float(lane.steer(image, car.command))
            detections = list(detector.detect(image))
            out = car.planner.step(
                PlannerInput(
                    now=t,
                    assignment=car.booking,
                    steering=steering,
                    detections=detections,
                    odometry_m=car.odometry,
                    reservation_granted=car.granted,
                    server_ok=True,
                    leg_lengths_m=car.legs,
                    yaw_rad=car.yaw,
                    sign_map=sign_map,
                )
            )
            car.command = out.command
            world.set_command(car.car_id, out.left_mps, out.right_mps)
            if frames is not None:
                frames.write(
                    json.dumps(
                        {
                            "t": round(t, 2),
                            "car": car.car_id,
                            "x": round(pose.x, 3),
                            "y": round(pose.y, 3),
                            "deg": round(math.degrees(pose.heading), 1),
                            "cmd": out.command,
                            "steer": round(steering, 3),
                            "state": out.state.value,
                            "odo": round(car.odometry, 3),
                            "yaw": round(math.degrees(car.yaw), 1),
                            "seen": [d.label for d in detections],
                        }
                    )
                    + "\n"
                )
            _note(car, out, t, pose, world)
            _carry_out(city, car, out, table, t, pose, world, results, bar)
            if car.trip is not None and t - car.trip_started > max_trip_s:
                car.trip.moments.append(_moment(t, f"timeout ({out.reason})", pose, world))
                car.trip.seconds = round(t - car.trip_started, 1)
                results.append(car.trip)
                bar.update(1)
                table.release_all(car.car_id)
                car.booking, car.trip, car.legs = None, None, None
                # A lost car is put back on a road, as an operator would, so that one
                # failure does not make every later trip of this car fail too.
                frm, to = _free_road(city, world, fleet, car.car_id, rng)
                world.remove_car(car.car_id)
                world.add_car(car.car_id, spawn_pose(city, frm, to))
                car.planner = Planner(config.runtime.planner)
                car.node, car.from_node, car.command = to, frm, "straight"
        world.step(DT_S)
        metrics.update({cid: world.state(cid).pose for cid in fleet}, DT_S)
        for car in fleet.values():
            st = world.state(car.car_id)
            car.odometry += abs(st.v_left + st.v_right) / 2.0 * DT_S
            car.yaw += (st.v_right - st.v_left) / track_m * DT_S
        t += DT_S
    bar.close()
    summary = metrics.summary().as_dict()
    summary["sim_time_s"] = round(t, 1)
    summary["wall_time_s"] = round(time.perf_counter() - started, 1)
    if trace is not None and frames is not None:
        frames.close()
        (trace / "trips.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
    return results, summary


def _free_road(
    city: City, world: World, fleet: dict[str, _Car], car_id: str, rng: np.random.Generator
) -> tuple[str, str]:
    """A road whose end is at least 1 m from every other car."""
    roads = sorted(city.edges)
    for k in rng.permutation(len(roads)):
        frm, to = roads[int(k)]
        node = city.node(to)
        if all(
            math.hypot(world.state(o).pose.x - node.x, world.state(o).pose.y - node.y) > 1.0
            for o in fleet
            if o != car_id
        ):
            return frm, to
    raise RuntimeError("no free road to put a lost car back on")


def _moment(t: float, what: str, pose: Any, world: World) -> Moment:
    return Moment(
        round(t, 2),
        what,
        world.nearest_node(pose),
        round(pose.x, 2),
        round(pose.y, 2),
        round(math.degrees(pose.heading), 0),
    )


def _note(car: _Car, out: PlannerOutput, t: float, pose: Any, world: World) -> None:
    if car.trip is None:
        return
    last = car.last_out
    car.last_out = out
    for event in out.events:
        car.trip.moments.append(
            _moment(t, f"{event.kind} {event.node}: {event.detail}", pose, world)
        )
    if last is None or last.state != out.state:
        car.trip.moments.append(
            _moment(t, f"{out.state.value} cmd={out.command} ({out.reason})", pose, world)
        )


def _carry_out(
    city: City,
    car: _Car,
    out: PlannerOutput,
    table: _Reservations,
    t: float,
    pose: Any,
    world: World,
    results: list[TripResult],
    bar: tqdm,
) -> None:
    for action in out.actions:
        if action.kind == "reserve" and action.node:
            was = car.granted
            car.granted = table.reserve(car.car_id, action.node)
            if not car.granted and was is not False and car.trip is not None:
                holder = table.held_by(action.node)
                car.trip.moments.append(
                    _moment(t, f"{action.node} busy: held by {holder}", pose, world)
                )
        elif action.kind == "release" and action.node:
            table.release(car.car_id, action.node)
        elif action.kind == "arrived" and car.trip is not None:
            for other in out.actions:
                if other.kind == "release" and other.node:
                    table.release(car.car_id, other.node)
            if table.holding(car.car_id):
                leak = f"still holds {table.holding(car.car_id)} on arrival"
                car.trip.moments.append(_moment(t, leak, pose, world))
                log.warning("%s %s", car.car_id, leak)
            car.trip.arrived = True
            car.trip.seconds = round(t - car.trip_started, 1)
            results.append(car.trip)
            bar.update(1)
            if out.node is not None and out.node != car.node:
                car.from_node, car.node = car.node, out.node
            car.booking, car.trip, car.legs = None, None, None
            return
        elif action.kind == "reroute" and action.node and car.booking and car.trip:
            came_from = car.from_node if action.node == car.node else None
            node, came_from = reroute_origin(
                city, action.node, came_from, action.sign, action.expected
            )
            route = _route(city, node, came_from, car.trip.destination)
            car.trip.reroutes += 1
            car.trip.moments.append(_moment(t, f"reroute from {node}", pose, world))
            car.booking = {**car.booking, "route": route, "rerouted": car.trip.reroutes}
            car.legs = leg_lengths(city, route)
    if out.node is not None and out.node != car.node:
        car.from_node, car.node = car.node, out.node


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--city", default="default", help="default | grid:N:SEED | city.json")
    parser.add_argument("--cars", type=int, default=1)
    parser.add_argument("--trips", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--car-config", help="car settings file (TOML)")
    parser.add_argument("--max-trip-s", type=float, default=240.0, help="sim seconds per trip")
    parser.add_argument(
        "--trace", type=Path, help="write trips.json and frames.jsonl (every frame) here"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.cars < 1 or args.trips < 1 or args.max_trip_s <= 0:
            raise UsageError("--cars, --trips and --max-trip-s must be positive")
        label, city = parse_city(args.city)
        results, summary = drive(
            city,
            cars=args.cars,
            trips=args.trips,
            seed=args.seed,
            car_config=args.car_config,
            max_trip_s=args.max_trip_s,
            trace=args.trace,
        )
    except (UsageError, ConfigError, ValueError) as exc:
        print(f"trip_closed_loop: {exc}", file=sys.stderr)
        return 2
    arrived = sum(r.arrived for r in results)
    if args.json:
        print(json.dumps({"city": label, "arrived": arrived, "trips": len(results), **summary}))
        return 0
    print(f"{label}: {arrived}/{len(results)} trips arrived; {json.dumps(summary)}")
    for r in results:
        flag = "ok " if r.arrived else "FAIL"
        print(f"{flag} {r.car} {' > '.join(r.route)} ({r.seconds} s, {r.reroutes} reroutes)")
        if not r.arrived or r.reroutes:
            for m in r.moments:
                where = f"({m.x:5.2f},{m.y:5.2f} {m.heading_deg:4.0f}°)"
                print(f"      t={m.t:7.2f} near {m.near} {where} {m.what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
