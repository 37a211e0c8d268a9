"""Every manoeuvre of a city, once: the lane model through each turn a route may use.

Random routes (`benchmarks/lane_closed_loop.py`) follow shortest paths, so some turns of
a city are hardly ever driven — in the town, entering the roundabout at L from B, or
staying on it through L. Here the lane model drives, for every node and every allowed
turn through it (`City.turns_at`), the route "road in, the turn, road out" with the
route's ground-truth command as its command input, driven as the closed-loop benchmark
drives (`lane_closed_loop.drive_path`). A manoeuvre passes when the car reaches the end
of the road out, and fails when it is more than 0.4 m off the route or runs out of time.

By default the car starts at the beginning of the road in, driving up to the junction.
`--start-before M` starts it standing M metres before the junction instead, as a car
sets off after arriving at the node (it stops on recognising the node's sign).

    .venv/bin/python benchmarks/lane_manoeuvres.py [--model models/lane_int8.tflite] \\
        [--city default|grid:N:SEED[:SPACING]|FILE ...] [--start-before M] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.lane_closed_loop import drive_path, parse_city  # noqa: E402
from city import City  # noqa: E402
from city.model import Route  # noqa: E402
from pixelopolis.errors import UsageError  # noqa: E402
from sim.path import RoutePath  # noqa: E402
from sim.render import Renderer  # noqa: E402
from sim.routes import manoeuvre_route, manoeuvres, start_pose  # noqa: E402
from sim.world import World  # noqa: E402
from vehicle.perception.lane_model import LaneModel  # noqa: E402

log = logging.getLogger("lane_manoeuvres")

MAX_STEPS = 2000


@dataclass
class Manoeuvre:
    came_from: str
    node: str
    to: str
    turn: str
    passed: bool
    reason: str
    at: tuple[float, float]  # where the car was when it ended (m)


def drive(
    city: City,
    renderer: Renderer,
    model: LaneModel,
    route: Route,
    start_before_m: float | None = None,
) -> Manoeuvre:
    """One manoeuvre from the start of its road in, or standing `start_before_m` before
    its junction."""
    path = RoutePath.from_route(city, route)
    s = 0.0 if start_before_m is None else max(0.0, path.nodes[1].entry_s - start_before_m)
    world = World(city)
    world.add_car("car", start_pose(city, path, s=s))
    reason, _, _ = drive_path(world, "car", path, renderer, model, MAX_STEPS, start_s=s)
    pose = world.state("car").pose
    a, n, b = route.nodes
    at = (round(pose.x, 2), round(pose.y, 2))
    return Manoeuvre(a, n, b, route.steps[1].turn, reason == "arrived", reason, at)


def drive_city(
    city: City, model: LaneModel, label: str, start_before_m: float | None = None
) -> list[Manoeuvre]:
    renderer = Renderer(city)
    todo = manoeuvres(city)
    out = []
    for a, node, b, turn in tqdm(todo, desc=label, unit="turn", leave=False):
        route = manoeuvre_route(city, a, node, b, turn)
        result = drive(city, renderer, model, route, start_before_m)
        out.append(result)
        log.debug("%s %s→%s→%s: %s", label, a, node, b, result.reason)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="models/lane_int8.tflite", help="lane TFLite model")
    parser.add_argument(
        "--city", action="append", help="default | grid:N:SEED[:SPACING] | city.json (repeatable)"
    )
    parser.add_argument(
        "--start-before",
        type=float,
        metavar="M",
        help="start standing M metres before the junction (default: the road's start)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if not Path(args.model).is_file():
            raise UsageError(f"--model {args.model}: no such file")
        if args.start_before is not None and not 0.0 <= args.start_before <= 5.0:
            raise UsageError(f"--start-before {args.start_before}: must be within 0..5 m")
        cities = [parse_city(spec) for spec in (args.city or ["default"])]
    except UsageError as exc:
        print(f"lane_manoeuvres: {exc}", file=sys.stderr)
        return 2
    model = LaneModel(args.model)
    report = {label: drive_city(city, model, label, args.start_before) for label, city in cities}
    if args.json:
        print(json.dumps({c: [asdict(m) for m in ms] for c, ms in report.items()}, indent=2))
        return 0
    for label, results in report.items():
        passed = sum(m.passed for m in results)
        print(f"{label}: {passed}/{len(results)} manoeuvres driven")
        by_turn: dict[str, list[int]] = {}
        for m in results:
            by_turn.setdefault(m.turn, [0, 0])
            by_turn[m.turn][0] += m.passed
            by_turn[m.turn][1] += 1
        print("  " + ", ".join(f"{t} {p}/{n}" for t, (p, n) in sorted(by_turn.items())))
        for m in results:
            if not m.passed:
                print(f"  failed: {m.came_from}→{m.node}→{m.to} ({m.turn}): {m.reason} at {m.at}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
