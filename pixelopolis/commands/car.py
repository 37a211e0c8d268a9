"""`pixelopolis car`: the car runtime."""

from __future__ import annotations

import argparse

from pixelopolis.commands._unbuilt import not_built


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "car",
        help="run the car runtime (camera, models, motors, stream)",
        description="Run one car: camera source, lane model, detector, planner and motor board.",
    )
    p.add_argument("--server", help="fleet server URL")
    p.add_argument("--fleet-key", help="fleet key used to register the car")
    p.add_argument("--camera", help="camera source (device index, URL or video file)")
    p.add_argument("--board", help="serial device of the control board")
    p.set_defaults(handler=not_built("pixelopolis car", 6))
