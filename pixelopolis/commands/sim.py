"""`pixelopolis sim`: simulator dataset generators and views."""

from __future__ import annotations

import argparse

from pixelopolis.commands._unbuilt import not_built


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("sim", help="simulator: datasets and views")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    lane = verbs.add_parser("lane", help="generate a lane-keeping dataset")
    lane.add_argument("--out", required=True, help="output folder")
    lane.add_argument("--frames", type=int, required=True, help="number of frames")
    lane.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    lane.add_argument("--seed", type=int, default=0, help="random seed")
    lane.add_argument("--city", help="city file (default: the shipped town)")
    lane.set_defaults(handler=not_built("pixelopolis sim lane", 3))
    detect = verbs.add_parser("detect", help="generate a detection dataset (Pascal VOC)")
    detect.add_argument("--out", required=True, help="output folder")
    detect.add_argument("--images", type=int, required=True, help="number of images")
    detect.add_argument("--seed", type=int, default=0, help="random seed")
    detect.add_argument("--city", help="city file (default: the shipped town)")
    detect.set_defaults(handler=not_built("pixelopolis sim detect", 3))
    view = verbs.add_parser("view", help="render a top-down view of the simulated city")
    view.add_argument("--city", help="city file (default: the shipped town)")
    view.add_argument("--out", help="PNG file to write")
    view.set_defaults(handler=not_built("pixelopolis sim view", 3))
