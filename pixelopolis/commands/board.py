"""`pixelopolis board`: the car's control board (emulator and tools)."""

from __future__ import annotations

import argparse

from pixelopolis.commands._unbuilt import not_built


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("board", help="control-board tools (emulator)")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    emulate = verbs.add_parser("emulate", help="run a virtual control board on a pseudo-terminal")
    emulate.add_argument("--link", help="path of a symlink to create to the pty")
    emulate.set_defaults(handler=not_built("pixelopolis board emulate", 4))
