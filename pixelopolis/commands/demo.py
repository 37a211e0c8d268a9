"""`pixelopolis demo`: the whole city on one machine."""

from __future__ import annotations

import argparse

from pixelopolis.commands._unbuilt import not_built


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "demo",
        help="run the whole city: fleet server, stations and simulated cars",
        description="Start the fleet server on the embedded database, two stations and "
        "simulated cars driving the shipped models; prints the station URLs.",
    )
    p.add_argument("--cars", type=int, default=3, help="number of simulated cars (default 3)")
    p.add_argument("--port", type=int, default=8000, help="fleet server port (default 8000)")
    p.add_argument("--city", help="city file (default: the shipped town)")
    p.add_argument("--headless", action="store_true", help="no browser; run trips and exit")
    p.add_argument("--trips", type=int, default=0, help="with --headless: trips to book")
    p.set_defaults(handler=not_built("pixelopolis demo", 7))
