"""Simulated cars for a deployed fleet: one simulated world and one car runtime per car.

The car-sim container's entry point. It starts `pixelopolis sim world`, reads the JSON
line describing its cars (camera URL, board pty, start node), then starts one
`pixelopolis car` per car against the fleet server, each streaming on its own port and
advertising this container's address so stations can reach the stream. The fleet key is
never on a command line: the cars read it from $PIXELOPOLIS_FLEET_KEY_FILE (a compose
secret) or $PIXELOPOLIS_FLEET_KEY, inherited from this process.

If any process exits, the others are stopped and this exits 1, so the container's restart
policy brings the whole set back; SIGTERM/SIGINT stop everything and exit 0.

    python docker/car_sim.py --server http://proxy:8000 [--cars 3] [--stream-port-base 8200]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

log = logging.getLogger("car_sim")
PIXELOPOLIS = [sys.executable, "-m", "pixelopolis"]


class CarSimError(Exception):
    """The simulated cars could not start; the message says why."""


class _Parser(argparse.ArgumentParser):
    """Errors are one line and exit code 2, like the `pixelopolis` command's."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = _Parser(prog="car_sim", description=__doc__.split("\n\n")[0])
    p.add_argument("--server", required=True, help="fleet server URL (http://proxy:8000)")
    p.add_argument("--cars", type=int, default=3, help="simulated cars (1-16, default 3)")
    p.add_argument("--seed", type=int, help="world seed (default: random per container)")
    p.add_argument(
        "--stream-port-base",
        type=int,
        default=8200,
        help="car k streams on this port + k (default 8200: 8201, 8202, ...)",
    )
    p.add_argument(
        "--advertise-host",
        default="auto",
        help="address stations reach the streams at (default: this container's address)",
    )
    p.add_argument("--config", help="car settings file (TOML) passed to every car")
    p.add_argument("--work-dir", default="/tmp/car-sim", help="folder for board links and state")
    args = p.parse_args(argv)
    if not 1 <= args.cars <= 16:
        p.error(f"--cars: must be within 1..16, got {args.cars}")
    if not 1024 <= args.stream_port_base <= 65535 - args.cars:
        p.error(f"--stream-port-base: must leave room for {args.cars} ports below 65536")
    if not args.server.startswith(("http://", "https://")):
        p.error(f"--server: must be an http(s) URL, got {args.server!r}")
    return args


def advertised_host(value: str) -> str:
    """`value`, or this container's address on its network when it is "auto"."""
    if value != "auto":
        return value
    return socket.gethostbyname(socket.gethostname())


def world_command(args: argparse.Namespace, seed: int) -> list[str]:
    return [
        *PIXELOPOLIS,
        "sim",
        "world",
        "--cars",
        str(args.cars),
        "--seed",
        str(seed),
        "--dir",
        str(Path(args.work_dir) / "world"),
    ]


def car_commands(
    world: dict[str, Any], args: argparse.Namespace, *, host: str, prefix: str
) -> list[list[str]]:
    """One `pixelopolis car` command per car the world describes."""
    commands = []
    for k, car in enumerate(world["cars"], start=1):
        command = [
            *PIXELOPOLIS,
            "car",
            "--server",
            args.server,
            "--name",
            f"{prefix}-{car['id']}",
            "--camera",
            car["camera"],
            "--board",
            car["board"],
            "--node",
            car["node"],
            "--stream-port",
            str(args.stream_port_base + k),
            "--advertise-host",
            host,
            "--state-file",
            str(Path(args.work_dir) / f"{car['id']}.state.json"),
        ]
        if car.get("from_node"):
            command += ["--from-node", car["from_node"]]
        if args.config:
            command += ["--config", args.config]
        commands.append(command)
    return commands


def read_world(proc: subprocess.Popen[str], timeout_s: float = 120.0) -> dict[str, Any]:
    """The world's JSON line (the first line starting with "{")."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("{"):
            return json.loads(line)
    raise CarSimError("the simulated world did not start")


def _forward(proc: subprocess.Popen[str]) -> None:
    """Keep copying the world's output to ours, so it never blocks on a full pipe."""

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)

    threading.Thread(target=pump, name="world-output", daemon=True).start()


def _stop(procs: list[subprocess.Popen[str]], grace_s: float = 15.0) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace_s
    for proc in reversed(procs):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(args: argparse.Namespace) -> int:
    if not (
        os.environ.get("PIXELOPOLIS_FLEET_KEY_FILE") or os.environ.get("PIXELOPOLIS_FLEET_KEY")
    ):
        raise CarSimError("fleet key: set PIXELOPOLIS_FLEET_KEY_FILE (or PIXELOPOLIS_FLEET_KEY)")
    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(2), "big")
    host = advertised_host(args.advertise_host)
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    procs: list[subprocess.Popen[str]] = []
    try:
        world = subprocess.Popen(world_command(args, seed), stdout=subprocess.PIPE, text=True)
        procs.append(world)
        description = read_world(world)
        _forward(world)
        for command in car_commands(description, args, host=host, prefix=socket.gethostname()):
            procs.append(subprocess.Popen(command))
        log.info("%d cars from %s, streams advertised on %s", args.cars, args.server, host)
        while not stopping:
            exited = [p for p in procs if p.poll() is not None]
            if exited:
                log.error(
                    "%s exited (%s); stopping the others", exited[0].args, exited[0].returncode
                )
                return 1
            time.sleep(0.5)
        return 0
    finally:
        _stop(procs)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)
    try:
        return run(args)
    except CarSimError as exc:
        print(f"car_sim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
