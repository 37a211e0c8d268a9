"""`pixelopolis eval`: closed-loop evaluation."""

from __future__ import annotations

import argparse

from pixelopolis.commands._unbuilt import not_built


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("eval", help="evaluate models and cars")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    drive = verbs.add_parser("drive", help="closed-loop driving evaluation in the simulator")
    drive.add_argument("--city", help="city file (default: the shipped town)")
    drive.add_argument("--trips", type=int, default=10, help="number of trips")
    drive.set_defaults(handler=not_built("pixelopolis eval drive", 6))
