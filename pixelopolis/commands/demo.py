"""`pixelopolis demo`: the whole city on one machine."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from pathlib import Path

from pixelopolis.commands._cityfile import check_city_file
from pixelopolis.errors import UsageError

log = logging.getLogger("pixelopolis.demo")


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "demo",
        help="run the whole city: fleet server, stations and simulated cars",
        description="Start the fleet server on the embedded database, two stations and "
        "simulated cars driving the shipped models; prints the station URLs. With "
        "--headless, book --trips trips through the stations, print a summary and exit.",
    )
    p.add_argument("--cars", type=int, default=3, help="number of simulated cars (default 3)")
    p.add_argument("--port", type=int, default=8000, help="fleet server port (default 8000)")
    p.add_argument(
        "--station-port",
        type=int,
        default=8100,
        help="first station's port; the second station takes the next (default 8100)",
    )
    p.add_argument("--stations", type=int, default=2, help="number of stations (default 2)")
    p.add_argument("--host", default="127.0.0.1", help="address the stations listen on")
    p.add_argument("--city", help="city file (default: the shipped town)")
    p.add_argument("--seed", type=int, default=0, help="random seed (start places, trips)")
    p.add_argument("--headless", action="store_true", help="no browser; run trips and exit")
    p.add_argument("--trips", type=int, default=3, help="with --headless: trips (default 3)")
    p.add_argument("--json", action="store_true", help="with --headless: summary as JSON")
    p.add_argument("--logs", help="folder for each process's log")
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from pixelopolis.launch import CityLaunch, LaunchConfig, LaunchError

    city = check_city_file(args.city)
    if args.headless and not 1 <= args.trips <= 10_000:
        raise UsageError(f"--trips: must be within 1..10000, got {args.trips}")
    if not 1 <= args.stations <= 16:
        raise UsageError(f"--stations: must be within 1..16, got {args.stations}")
    try:
        config = LaunchConfig(
            cars=args.cars,
            city=city,
            seed=args.seed,
            # headless runs score the driving: synchronous, so load cannot change them
            synchronous=args.headless,
            server_port=args.port,
            stations=args.stations,
            station_port=args.station_port,
            host=args.host,
            log_dir=Path(args.logs) if args.logs else None,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with CityLaunch(config) as launch:
            if args.headless:
                return _headless(launch, args)
            _announce(launch)
            while not stop.wait(1.0):
                failed = launch.failed_children()
                if failed:
                    log.error("stopping: %s exited", ", ".join(failed))
                    return 1
            print("stopping the city …", flush=True)
    except LaunchError as exc:
        raise UsageError(str(exc)) from exc
    return 0


def _announce(launch) -> None:  # noqa: ANN001 - CityLaunch, imported lazily
    print(f"fleet server   {launch.server_url}/api/v1  (fleet key: {launch.fleet_key})")
    for url in launch.station_urls:
        print(f"station        {url}/")
    if launch.station_urls:
        print(f"operator page  {launch.station_urls[0]}/operator  (sign in with the fleet key)")
    print(f"world          {launch.world['url']}/state")
    print("Ctrl-C stops everything.", flush=True)


def _headless(launch, args: argparse.Namespace) -> int:  # noqa: ANN001
    from pixelopolis.drive_eval import DriveEvalConfig, StationBooker, run_trips

    summary = run_trips(
        launch,
        StationBooker(launch.station_urls),
        DriveEvalConfig(trips=args.trips),
        seed=args.seed,
        progress=not args.json,
    )
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:>24}: {value}")
    return 0 if summary["trips_completed"] == summary["trips_booked"] else 1
