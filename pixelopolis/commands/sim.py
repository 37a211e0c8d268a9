"""`pixelopolis sim`: simulator dataset generators and views."""

from __future__ import annotations

import argparse
from pathlib import Path

from pixelopolis.commands._cityfile import check_city_file
from pixelopolis.errors import UsageError


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("sim", help="simulator: datasets and views")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    lane = verbs.add_parser(
        "lane",
        help="generate a lane-keeping dataset (JPEG frames + JSON Lines manifest)",
        description="Render expert drives along random routes: a frame every 50 ms of "
        "simulated time, labelled with steering, throttle and the route command.",
    )
    lane.add_argument("--out", required=True, help="output folder (must be empty or new)")
    lane.add_argument("--frames", type=int, required=True, help="number of frames")
    lane.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    lane.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    lane.add_argument("--city", help="city file (default: the shipped town)")
    lane.add_argument(
        "--randomise",
        type=float,
        default=1.0,
        help="domain randomisation strength, 0 (clean) to 1 (default 1)",
    )
    lane.add_argument(
        "--no-recoveries",
        action="store_true",
        help="drive perfectly (no lateral-offset recoveries)",
    )
    lane.add_argument(
        "--departures",
        type=float,
        default=0.3,
        help="share of drives that set off from a node the car arrived at, by any turn "
        "allowed there (a third turn round in dead ends), 0 to 1 (default 0.3)",
    )
    lane.add_argument(
        "--manoeuvres",
        type=float,
        default=0.5,
        help="share of drives through one junction manoeuvre, turns shortest routes seldom "
        "take drawn more often, 0 to 1 (default 0.5)",
    )
    lane.add_argument(
        "--junction-starts",
        type=float,
        default=0.0,
        help="share of manoeuvre drives that start inside the junction, askew (a car "
        "mid-turn that turned too little or too much), 0 to 1 (default 0)",
    )
    lane.add_argument("--force", action="store_true", help="replace a dataset already in --out")
    lane.set_defaults(handler=run_lane)

    detect = verbs.add_parser("detect", help="generate a detection dataset (Pascal VOC)")
    detect.add_argument("--out", required=True, help="output folder")
    detect.add_argument("--images", type=int, required=True, help="number of images")
    detect.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    detect.add_argument("--seed", type=int, default=0, help="random seed")
    detect.add_argument("--city", help="city file (default: the shipped town)")
    detect.add_argument(
        "--randomise",
        type=float,
        default=1.0,
        help="domain randomisation strength, 0 (clean) to 1 (default 1)",
    )
    detect.add_argument(
        "--composites",
        type=float,
        default=0.3,
        help="share of random-background composites (default 0.3)",
    )
    detect.add_argument("--force", action="store_true", help="replace a dataset already in --out")
    detect.set_defaults(handler=run_detect)

    view = verbs.add_parser(
        "view",
        help="render a top-down view of the city with cars and their camera views (PNG)",
    )
    view.add_argument("--city", help="city file (default: the shipped town)")
    view.add_argument("--out", default="sim-view.png", help="PNG file (default sim-view.png)")
    view.add_argument("--cars", type=int, default=3, help="cars to place (default 3)")
    view.add_argument("--seed", type=int, default=0, help="random seed")
    view.set_defaults(handler=run_view)

    world = verbs.add_parser(
        "world",
        help="run a simulated world: cars with HTTP JPEG cameras and emulated boards",
        description=(
            "Run the simulated city for car runtimes: each car gets a camera at "
            "<url>/cars/<id>/shot.jpg and a control board on a pty (symlinked as "
            "<dir>/<id>.board). Prints one JSON line describing them, then runs until "
            "interrupted."
        ),
    )
    world.add_argument("--city", help="city file (default: the shipped town)")
    world.add_argument("--cars", type=int, default=3, help="number of cars (default 3)")
    world.add_argument("--seed", type=int, default=0, help="random seed (start places, look)")
    world.add_argument("--host", default="127.0.0.1", help="address to serve on")
    world.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    world.add_argument("--dir", default="pixelopolis-world", help="folder for the boards' links")
    world.add_argument(
        "--sync",
        action="store_true",
        help="synchronous mode: advance a tick only when every car answered its frame",
    )
    world.add_argument("--tick", type=float, default=0.05, help="seconds per tick (default 0.05)")
    world.add_argument("--randomise", action="store_true", help="a randomised look")
    world.set_defaults(handler=run_world)


def _check_city(path: str | None) -> Path | None:
    return check_city_file(path)


def run_lane(args: argparse.Namespace) -> int:
    from sim.datasets.lane import LaneDatasetConfig, generate_lane_dataset
    from sim.datasets.output import DatasetError

    try:
        config = LaneDatasetConfig(
            frames=args.frames,
            seed=args.seed,
            workers=args.workers,
            city_path=_check_city(args.city),
            randomise=args.randomise,
            recoveries=not args.no_recoveries,
            departures=args.departures,
            manoeuvres=args.manoeuvres,
            junction_starts=args.junction_starts,
        )
        stats = generate_lane_dataset(Path(args.out), config, force=args.force)
    except DatasetError as exc:
        raise UsageError(str(exc)) from exc
    hist = stats["steering_histogram"]["counts"]
    print(f"{stats['frames']} frames in {stats['episodes']} episodes -> {args.out}")
    print(f"commands: {stats['commands']}; turning share {stats['turning_share']:.0%}")
    print("steering histogram (-1 .. 1): " + " ".join(str(c) for c in hist))
    return 0


def run_detect(args: argparse.Namespace) -> int:
    from sim.datasets.detect import DetectDatasetConfig, generate_detect_dataset
    from sim.datasets.output import DatasetError

    try:
        config = DetectDatasetConfig(
            images=args.images,
            seed=args.seed,
            workers=args.workers,
            city_path=_check_city(args.city),
            randomise=args.randomise,
            composite_share=args.composites,
        )
        stats = generate_detect_dataset(Path(args.out), config, force=args.force)
    except DatasetError as exc:
        raise UsageError(str(exc)) from exc
    print(f"{stats['images']} images ({stats['train']} train, {stats['val']} val) -> {args.out}")
    print("objects: " + ", ".join(f"{k} {v}" for k, v in stats["objects"].items()))
    return 0


def run_view(args: argparse.Namespace) -> int:
    from city import default_city, load_city
    from sim.view import write_view

    if not 0 <= args.cars <= 8:
        raise UsageError(f"--cars: must be 0-8, got {args.cars}")
    _check_city(args.city)
    city = load_city(args.city) if args.city else default_city()
    try:
        out = write_view(city, Path(args.out), cars=args.cars, seed=args.seed)
    except OSError as exc:
        raise UsageError(str(exc)) from exc
    print(f"wrote {out}")
    return 0


def run_world(args: argparse.Namespace) -> int:
    import json
    import signal
    import threading

    from city import default_city, load_city
    from sim.world_service import WorldService, WorldServiceConfig

    _check_city(args.city)
    city = load_city(args.city) if args.city else default_city()
    try:
        config = WorldServiceConfig(
            cars=args.cars,
            seed=args.seed,
            tick_s=args.tick,
            synchronous=args.sync,
            host=args.host,
            port=args.port,
            run_dir=Path(args.dir),
            randomise_look=args.randomise,
        )
        service = WorldService(city, config)
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        info = service.start()
    except OSError as exc:
        service.stop()
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {exc}") from exc
    print(json.dumps(info), flush=True)
    try:
        stop.wait()
    finally:
        service.stop()
    return 0
