"""`pixelopolis station`: the station web app."""

from __future__ import annotations

import argparse

from pixelopolis.commands._unbuilt import not_built


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "station",
        help="serve a station web app",
        description="Serve the station web app where a visitor books a car and watches it.",
    )
    p.add_argument("--server", required=True, help="fleet server URL")
    p.add_argument("--fleet-key", required=True, help="fleet key used to register the station")
    p.add_argument("--port", type=int, default=8100, help="port to serve on (default 8100)")
    p.add_argument("--name", default="station", help="station name")
    p.set_defaults(handler=not_built("pixelopolis station", 7))
