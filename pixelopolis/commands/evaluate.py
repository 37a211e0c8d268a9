"""`pixelopolis eval`: closed-loop evaluation."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pixelopolis.commands._cityfile import check_city_file
from pixelopolis.commands.evaluate_detect import register_detect
from pixelopolis.errors import UsageError


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("eval", help="evaluate models and cars")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    drive = verbs.add_parser(
        "drive",
        help="closed-loop driving evaluation in the simulator",
        description=(
            "Start a fleet server, a synchronous simulated world and N car runtimes, book "
            "K random trips through the API and print how the cars drove."
        ),
    )
    drive.add_argument("--city", help="city file (default: the shipped town)")
    drive.add_argument("--cars", type=int, default=4, help="number of cars (default 4)")
    drive.add_argument("--trips", type=int, default=40, help="number of trips (default 40)")
    drive.add_argument("--seed", type=int, default=0, help="random seed (start places, trips)")
    drive.add_argument("--car-config", help="car settings file (TOML) for every car")
    drive.add_argument("--logs", help="folder for each process's log")
    drive.add_argument("--json", action="store_true", help="print the summary as JSON")
    drive.set_defaults(handler=run_drive)
    register_detect(verbs)


def run_drive(args: argparse.Namespace) -> int:
    from pixelopolis.drive_eval import DriveEvalConfig, run_drive_eval
    from pixelopolis.launch import LaunchConfig, LaunchError

    city = check_city_file(args.city)
    if args.car_config and not Path(args.car_config).is_file():
        raise UsageError(f"--car-config: no file {args.car_config}")
    try:
        launch = LaunchConfig(
            cars=args.cars,
            city=city,
            seed=args.seed,
            synchronous=True,
            car_config=Path(args.car_config) if args.car_config else None,
            log_dir=Path(args.logs) if args.logs else None,
        )
        config = DriveEvalConfig(trips=args.trips)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        summary = run_drive_eval(launch, config, progress=not args.json)
    except (LaunchError, RuntimeError) as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:>24}: {value}")
    return 0
