"""`python -m benchmarks.reliability DRILL [options]`: run one reliability drill.

Prints the drill's figures (a table, or JSON with --json) and exits 0 when every target
held, 1 when one did not, 2 on bad arguments (one line).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from typing import Any

import requests

from benchmarks.reliability import (
    board_link,
    fuzz,
    kill_car,
    kill_worker,
    load,
    report,
    restart_db,
    server_unreachable,
)
from benchmarks.reliability.cluster import DrillError

DRILLS = {
    "load": (load, "stations and cars at rising load: throughput, latency, errors"),
    "kill-worker": (kill_worker, "SIGKILL server workers under load"),
    "restart-db": (restart_db, "stop and restart the database under load"),
    "kill-car": (kill_car, "kill car processes mid-trip"),
    "board-link": (board_link, "unplug and replug the board's USB link while driving"),
    "server-unreachable": (
        server_unreachable,
        "cut a driving car off the fleet server's network, then reconnect it",
    ),
    "fuzz-api": (fuzz, "schemathesis over the whole HTTP API from its OpenAPI document"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m benchmarks.reliability",
        description="Run one reliability drill of the fleet server (docs/reliability.md).",
    )
    sub = parser.add_subparsers(dest="drill", required=True, parser_class=_Parser)
    for name, (module, help_text) in DRILLS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--workers", type=int, default=2, help="server worker processes")
        p.add_argument("--threads", type=int, default=64, help="threads per worker")
        p.add_argument("--liveness-timeout", type=float, default=3.0, help="seconds")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        p.add_argument("-v", "--verbose", action="store_true", help="log progress")
        module.add_arguments(p)
    return parser


def check_common(args: argparse.Namespace) -> None:
    if not 1 <= args.workers <= 16:
        raise ValueError(f"workers: must be within 1..16, got {args.workers}")
    if not 4 <= args.threads <= 1024:
        raise ValueError(f"threads: must be within 4..1024, got {args.threads}")
    if not 1.0 <= args.liveness_timeout <= 60.0:
        raise ValueError(f"liveness-timeout: must be within 1..60, got {args.liveness_timeout}")
    duration = getattr(args, "duration", None)
    if duration is not None and not 1.0 <= duration <= 3600.0:
        raise ValueError(f"duration: must be within 1..3600 seconds, got {duration}")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module = DRILLS[args.drill][0]
    try:
        check_common(args)
        module.check_arguments(args)
    except ValueError as exc:
        sys.stderr.write(f"{parser.prog} {args.drill}: error: {exc}\n")
        return 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # SIGTERM unwinds like Ctrl-C, so every server and database the drill started stops.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result: dict[str, Any] = module.run(args)
    except (DrillError, requests.RequestException) as exc:
        sys.stderr.write(f"{parser.prog} {args.drill}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{parser.prog} {args.drill}: interrupted\n")
        return 130
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(report.render(result, module))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
