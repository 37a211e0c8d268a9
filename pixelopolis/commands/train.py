"""`pixelopolis train`: datasets to Keras models to TFLite exports."""

from __future__ import annotations

import argparse

from pixelopolis.commands._unbuilt import not_built


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("train", help="train the lane model or the detector")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    for name, what in (("lane", "lane-keeping CNN"), ("detect", "SSD-MobileNet detector")):
        v = verbs.add_parser(name, help=f"train the {what}")
        v.add_argument("--data", required=True, help="dataset folder")
        v.add_argument("--out", required=True, help="output folder")
        v.add_argument("--epochs", type=int, help="training epochs")
        v.set_defaults(handler=not_built(f"pixelopolis train {name}", 5))
