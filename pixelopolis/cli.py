"""The `pixelopolis` command: one verb per workflow, each a thin call into a library."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from pixelopolis import __version__
from pixelopolis.commands import board, car, demo, evaluate, server, sim, station, train
from pixelopolis.errors import UsageError

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pixelopolis",
        description="Pixelopolis: a city of miniature self-driving cars.",
    )
    parser.add_argument("--version", action="version", version=f"pixelopolis {__version__}")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level for services (default: INFO)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for module in (demo, server, station, car, board, sim, train, evaluate):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except UsageError as exc:
        print(f"pixelopolis {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
