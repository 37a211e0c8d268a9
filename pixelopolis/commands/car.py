"""`pixelopolis car`: the car runtime."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from pixelopolis.commands._secrets import add_fleet_key_arguments, require_fleet_key
from pixelopolis.errors import UsageError

log = logging.getLogger("pixelopolis.car")


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "car",
        help="run the car runtime (camera, models, motors, stream)",
        description=(
            "Run one car: camera source, lane model, detector, planner and motor board. "
            "It registers with the fleet server, waits for bookings and drives them."
        ),
    )
    p.add_argument("--server", required=True, help="fleet server URL (http://host:port)")
    add_fleet_key_arguments(p, purpose="used to register the car")
    p.add_argument("--name", default="car", help="the car's name on the server (default car)")
    p.add_argument(
        "--camera",
        required=True,
        help="camera source: device index, IP-camera JPEG URL (…/shot.jpg), stream URL or file",
    )
    p.add_argument(
        "--board", required=True, help="serial device of the control board, or 'emulator'"
    )
    p.add_argument("--node", required=True, help="the node the car stands at (before its junction)")
    p.add_argument(
        "--from-node",
        help="the node the car came from (it stands on the road FROM_NODE → NODE)",
    )
    p.add_argument(
        "--stream-port", type=int, help="port of the car's MJPEG stream (default from config)"
    )
    p.add_argument(
        "--advertise-host",
        help="host name stations use to reach the stream (default: the bind address)",
    )
    p.add_argument("--config", help="settings file (TOML); see docs/vehicle.md")
    p.add_argument("--state-file", help="file keeping the car's id and token across restarts")
    p.set_defaults(handler=run_car)


def run_car(args: argparse.Namespace) -> int:
    from vehicle.cameras import make_camera
    from vehicle.config import ConfigError, load_car_config, with_stream_port
    from vehicle.fleet_client import FleetClient, FleetClientConfig, FleetError
    from vehicle.interfaces import MotorBoardError
    from vehicle.motors import make_board
    from vehicle.runtime import CarRuntime
    from vehicle.stream import StreamAccess, StreamServer

    if args.stream_port is not None and not 0 <= args.stream_port <= 65535:
        raise UsageError(f"--stream-port: must be within 0..65535, got {args.stream_port}")
    fleet_key = require_fleet_key(args)
    try:
        config = with_stream_port(
            load_car_config(args.config), args.stream_port, args.advertise_host
        )
        fleet_config = FleetClientConfig(
            server_url=args.server,
            fleet_key=fleet_key,
            name=args.name,
            state_file=Path(args.state_file) if args.state_file else None,
        )
        camera = make_camera(args.camera)
    except (ConfigError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    lane, detector = _load_models(config)
    try:
        board, cleanup = make_board(args.board)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    access = StreamAccess()
    stream = StreamServer(config.stream, authorize=access)
    fleet = FleetClient(fleet_config)
    try:
        car_id = fleet.register()
    except FleetError as exc:
        if cleanup:
            cleanup()
        raise UsageError(f"cannot register with {args.server}: {exc}") from exc
    runtime = CarRuntime(
        camera=camera,
        board=board,
        fleet=fleet,
        lane=lane,
        detector=detector,
        node=args.node,
        from_node=args.from_node,
        config=config.runtime,
        stream=stream,
        stream_access=access,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        try:
            runtime.start()
        except MotorBoardError as exc:
            raise UsageError(f"board {args.board}: {exc}") from exc
        except OSError as exc:
            raise UsageError(f"cannot start: {exc}") from exc
        log.info("car %s (%s) running at %s", args.name, car_id, args.node)
        runtime.run(stop)
    finally:
        runtime.close()
        fleet.close()
        if cleanup:
            cleanup()
        log.info("car %s stopped; stage timings %s", args.name, runtime.timings.summary())
    return 0


def _load_models(config):  # noqa: ANN001, ANN202 - local helper
    from vehicle.perception.lane_model import LaneModel

    needed = [("lane model", config.lane_model), ("detector", config.detector.model)]
    if config.classifier.enabled:
        needed.append(("sign classifier", config.classifier.model))
    for what, path in needed:
        if not Path(path).is_file():
            raise UsageError(f"{what}: no model file at {path}")
    try:
        from vehicle.perception.detector import Detector, DetectorConfig

        lane = LaneModel(config.lane_model)
        d = config.detector
        detector = Detector(
            DetectorConfig(
                model=d.model,
                labels=d.labels,
                min_score=d.min_score,
                num_threads=d.num_threads,
                use_edgetpu=d.use_edgetpu,
            )
        )
        c = config.classifier
        if c.enabled:
            from vehicle.perception.sign_classifier import SignClassifier, TwoStageDetector

            detector = TwoStageDetector(detector, SignClassifier(c))
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot load the models: {exc}") from exc
    return lane, detector
