"""`pixelopolis board`: the car's control board (emulator and tools)."""

from __future__ import annotations

import argparse
import signal
import threading

from firmware_bridge.emulator import EmulatorConfig, run_emulator
from pixelopolis.errors import UsageError


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("board", help="control-board tools (emulator)")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    emulate = verbs.add_parser("emulate", help="run a virtual control board on a pseudo-terminal")
    emulate.add_argument("--link", help="path of a symlink to create to the pty")
    emulate.set_defaults(handler=emulate_command)


def emulate_command(args: argparse.Namespace) -> int:
    """Run a virtual board until Ctrl-C or SIGTERM; print the device path to open."""
    try:
        config = EmulatorConfig(link=args.link)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def ready(path: str) -> None:
        print(path, flush=True)
        if args.link:
            print(f"linked {args.link} -> {path}", flush=True)

    try:
        run_emulator(config, stop, on_ready=ready)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
