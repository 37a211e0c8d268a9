"""`pixelopolis station`: the station web app."""

from __future__ import annotations

import argparse
import logging
import socket

from pixelopolis.commands._secrets import add_fleet_key_arguments, require_fleet_key
from pixelopolis.errors import UsageError

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "station",
        help="serve a station web app",
        description="Serve the station web app where a visitor books a car and watches it. "
        "It registers with the fleet server as a station; the operator page is at /operator.",
    )
    p.add_argument("--server", required=True, help="fleet server URL (http://host:8000)")
    add_fleet_key_arguments(p, purpose="used to register the station")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8100, help="port to serve on (default 8100)")
    p.add_argument("--name", default="station", help="station name")
    p.add_argument("--threads", type=int, default=32, help="request threads (default 32)")
    p.add_argument(
        "--language",
        default="en",
        help="language when the browser asks for none we have (en, th, ja, es; default en)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from station import FleetError, StationConfig, StationConfigError, create_app
    from station.runner import serve

    fleet_key = require_fleet_key(args)
    try:
        config = StationConfig(
            server_url=args.server,
            fleet_key=fleet_key,
            name=args.name,
            host=args.host,
            port=args.port,
            threads=args.threads,
            default_language=args.language,
        )
    except StationConfigError as exc:
        raise UsageError(str(exc)) from exc
    _check_port_free(config.host, config.port)
    try:
        app = create_app(config)
    except FleetError as exc:
        raise UsageError(f"cannot register with the fleet server: {exc.message}") from exc
    print(f"Pixelopolis station {config.name!r} on http://{config.host}:{config.port}/", flush=True)
    print(f"operator page: http://{config.host}:{config.port}/operator", flush=True)
    serve(app, host=config.host, port=config.port, threads=config.threads)
    return 0


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UsageError(f"port: {host}:{port} is not free ({exc.strerror})") from exc
