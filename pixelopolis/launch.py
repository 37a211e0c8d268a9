"""Bring a whole simulated city up on one machine: fleet server, world, cars (and stations).

Every piece runs as its own process through the same `pixelopolis` command a user
would type (`server`, `sim world`, `car`, `station`), so the evaluation and the demo
exercise the real contracts. `CityLaunch` owns the processes: it stops them all
(SIGINT, then SIGKILL after a grace period) when it is closed, in reverse order, so no
process outlives it; each child also gets SIGTERM if this process dies
(PR_SET_PDEATHSIG on Linux).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from pixelopolis.commands._secrets import KEY_ENV
from server.embedded import free_port

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LaunchError(RuntimeError):
    """A piece of the city did not come up."""


@dataclass(frozen=True)
class LaunchConfig:
    """What to start. `work_dir` None: a temporary folder removed afterwards."""

    cars: int = 3
    city: Path | None = None
    seed: int = 0
    synchronous: bool = False
    server_port: int = 0
    workers: int = 2
    work_dir: Path | None = None
    car_config: Path | None = None
    log_dir: Path | None = None
    start_timeout_s: float = 120.0
    stations: int = 0
    station_port: int = 0  # first station's port (0: any free ports); the next ones follow
    host: str = "127.0.0.1"
    liveness_timeout_s: float | None = None  # the server's (None: its default)

    def __post_init__(self) -> None:
        if not 1 <= self.cars <= 32:
            raise ValueError(f"cars: must be within 1..32, got {self.cars}")
        if not 0 <= self.stations <= 16:
            raise ValueError(f"stations: must be within 0..16, got {self.stations}")
        for name in ("server_port", "station_port"):
            if not 0 <= getattr(self, name) <= 65535:
                raise ValueError(f"{name}: must be within 0..65535, got {getattr(self, name)}")


@dataclass
class _Child:
    name: str
    proc: subprocess.Popen[str]
    log_file: IO[str] | None = None


@dataclass
class CityLaunch:
    """The running city; use as a context manager."""

    config: LaunchConfig
    fleet_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    server_url: str = ""
    car_server_url: str | None = None  # what the cars are told (None: server_url)
    world: dict[str, Any] = field(default_factory=dict)
    station_urls: list[str] = field(default_factory=list)
    _children: list[_Child] = field(default_factory=list)
    _tmp: tempfile.TemporaryDirectory[str] | None = None
    work_dir: Path = Path()

    def __enter__(self) -> CityLaunch:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        cfg = self.config
        if cfg.work_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="pixelopolis-city-")
            self.work_dir = Path(self._tmp.name)
        else:
            self.work_dir = cfg.work_dir
            self.work_dir.mkdir(parents=True, exist_ok=True)
        self._start_server()
        self._start_world()
        for car in self.world["cars"]:
            self._start_car(car)
        for k in range(self.config.stations):
            self._start_station(k)
        for url in self.station_urls:
            self._wait_healthy(url + "/health", f"station {url}")

    def _spawn(self, name: str, args: Sequence[str], *, capture: bool = False) -> _Child:
        cmd = [sys.executable, "-m", "pixelopolis", *args]
        log_file: IO[str] | None = None
        stdout: Any
        if capture:
            stdout = subprocess.PIPE
        else:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_file = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115
            stdout = log_file
        proc = subprocess.Popen(
            cmd,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads touched before exec
            # the key goes in the environment: on a command line `ps` shows it, and a
            # generated key that starts with "-" would read as an option
            env={**os.environ, "PYTHONUNBUFFERED": "1", KEY_ENV: self.fleet_key},
        )
        child = _Child(name, proc, log_file)
        self._children.append(child)
        log.debug("started %s (pid %d): %s", name, proc.pid, " ".join(cmd))
        return child

    def _start_server(self) -> None:
        cfg = self.config
        port = cfg.server_port or free_port()
        args = [
            "server",
            "--port",
            str(port),
            "--data",
            str(self.work_dir / "server-data"),
            "--workers",
            str(cfg.workers),
        ]
        if cfg.city is not None:
            args += ["--city", str(cfg.city)]
        if cfg.liveness_timeout_s is not None:
            args += ["--liveness-timeout", str(cfg.liveness_timeout_s)]
        self._spawn("server", args)
        self.server_url = f"http://127.0.0.1:{port}"
        self._wait_healthy(f"{self.server_url}/api/v1/health", "the fleet server")
        log.info("fleet server on %s", self.server_url)

    def _wait_healthy(self, url: str, what: str) -> None:
        deadline = time.monotonic() + self.config.start_timeout_s
        while True:
            failed = self.failed_children()
            if failed:
                raise LaunchError(f"{'; '.join(failed)} exited while waiting for {what}")
            try:
                if requests.get(url, timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise LaunchError(f"{what} did not answer in time")
            time.sleep(0.2)

    def _start_station(self, k: int) -> None:
        cfg = self.config
        port = cfg.station_port + k if cfg.station_port else free_port()
        name = f"station-{k + 1}"
        args = [
            "station",
            "--server",
            self.server_url,
            "--host",
            cfg.host,
            "--port",
            str(port),
            "--name",
            name,
        ]
        self._spawn(name, args)
        host = "127.0.0.1" if cfg.host in ("0.0.0.0", "::") else cfg.host
        self.station_urls.append(f"http://{host}:{port}")

    def _start_world(self) -> None:
        cfg = self.config
        args = [
            "sim",
            "world",
            "--cars",
            str(cfg.cars),
            "--seed",
            str(cfg.seed),
            "--dir",
            str(self.work_dir / "world"),
        ]
        if cfg.city is not None:
            args += ["--city", str(cfg.city)]
        if cfg.synchronous:
            args.append("--sync")
        child = self._spawn("world", args, capture=True)
        assert child.proc.stdout is not None
        line = ""
        deadline = time.monotonic() + self.config.start_timeout_s
        while time.monotonic() < deadline:
            line = child.proc.stdout.readline()
            if not line:
                break
            if line.startswith("{"):
                break
        try:
            self.world = json.loads(line)
        except json.JSONDecodeError:
            rest = line + (child.proc.stdout.read() if child.proc.poll() is not None else "")
            raise LaunchError(f"the world did not start: {rest.strip()[-500:]}") from None
        # keep draining the world's output (so it never blocks on a full pipe) into its log
        self.log_dir.mkdir(parents=True, exist_ok=True)
        _drain(child, self.log_dir / "world.log")
        log.info("world on %s with %d cars", self.world["url"], len(self.world["cars"]))

    def _start_car(self, car: dict[str, Any]) -> None:
        args = [
            "car",
            "--server",
            self.car_server_url or self.server_url,
            "--name",
            car["id"],
            "--camera",
            car["camera"],
            "--board",
            car["board"],
            "--node",
            car["node"],
            "--from-node",
            car["from_node"],
            "--stream-port",
            "0",
            "--state-file",
            str(self.work_dir / f"{car['id']}.state.json"),
        ]
        if self.config.car_config is not None:
            args += ["--config", str(self.config.car_config)]
        self._spawn(car["id"], args)

    @property
    def log_dir(self) -> Path:
        """Where each process's output goes (`LaunchConfig.log_dir`, or the work folder)."""
        return self.config.log_dir or self.work_dir / "logs"

    # ------------------------------------------------------------------ checks
    def failed_children(self) -> list[str]:
        """The processes that exited on their own, each with its exit code and last line."""
        failed = []
        for child in self._children:
            code = child.proc.poll()
            if code is None:
                continue
            last = ""
            path = self.log_dir / f"{child.name}.log"
            if child.log_file is not None and path.is_file():
                lines = path.read_text(errors="replace").strip().splitlines()
                last = lines[-1][-300:] if lines else ""
            failed.append(f"{child.name} (exit {code}{': ' + last if last else ''})")
        return failed

    def world_state(self) -> dict[str, Any]:
        return requests.get(f"{self.world['url']}/state", timeout=10).json()

    # ------------------------------------------------------------------ stop
    def close(self, grace_s: float = 15.0) -> None:
        """Stop every process (cars first, the server last) and remove the temp folder."""
        for child in reversed(self._children):
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + grace_s
        for child in reversed(self._children):
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time: killed", child.name)
                child.proc.kill()
                child.proc.wait()
            if child.log_file is not None:
                child.log_file.close()
        self._children.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _drain(child: _Child, path: Path) -> None:
    import threading

    def pump() -> None:
        assert child.proc.stdout is not None
        with open(path, "a") as out:
            for line in child.proc.stdout:
                out.write(line)
                out.flush()

    threading.Thread(target=pump, name=f"drain-{child.name}", daemon=True).start()
