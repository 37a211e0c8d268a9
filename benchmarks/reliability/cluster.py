"""The servers a drill runs against: an embedded database and `pixelopolis server`.

The database runs on its own (not as the server's child) so a drill can stop and restart
it under a running server. Both run in their own process groups and are told to stop if
the drill dies (PR_SET_PDEATHSIG); `Cluster.stop` ends both groups, forcing them if they
do not stop in time, so no drill leaves a process behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from pymongo import MongoClient
from pymongo.database import Database

from server.embedded import EmbeddedDatabase, EmbeddedDatabaseError, free_port

log = logging.getLogger(__name__)

FLEET_KEY = "reliability-drill-fleet-key"
DATABASE = "drill"


class DrillError(RuntimeError):
    """A drill could not run (the message says why, in one line)."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Cluster:
    """One database and one `pixelopolis server` (gunicorn master and its workers)."""

    workdir: Path
    workers: int = 2
    threads: int = 64
    liveness_timeout_s: float = 3.0
    extra_args: list[str] = field(default_factory=list)
    db: EmbeddedDatabase | None = None
    server: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def start(self, timeout_s: float = 60.0) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db = EmbeddedDatabase(self.workdir / "database")
        try:
            self.db.start()
        except EmbeddedDatabaseError as exc:
            raise DrillError(f"database: {exc}") from exc
        self.port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "pixelopolis",
            "--log-level",
            "WARNING",
            "server",
            "--port",
            str(self.port),
            "--db",
            self.db.uri,
            "--database",
            DATABASE,
            "--fleet-key",
            FLEET_KEY,
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--liveness-timeout",
            str(self.liveness_timeout_s),
            # Every simulated device registers from one address and stations book as fast
            # as their cars allow: the security limits would only measure themselves.
            "--register-limit",
            "off",
            "--booking-limit",
            "off",
            *self.extra_args,
        ]
        with open(self.log_path, "ab") as out:
            self.server = subprocess.Popen(  # noqa: S603
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.server.poll() is not None:
                raise DrillError(f"server exited at start: {self._last_log_line()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise DrillError(f"server not healthy within {timeout_s:.0f} s")
            time.sleep(0.2)
        # Every worker answers before the drill starts (each binds the same socket).
        deadline = time.monotonic() + timeout_s
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.2)
        log.info("server up at %s with workers %s", self.base, self.worker_pids())
        return self

    def _last_log_line(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln]
        except OSError:
            return "no log"
        return lines[-1][:200] if lines else "no output"

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        if self.server is None or self.server.poll() is not None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.server.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by the server (master and live workers) and the database."""
        server = [self.server.pid, *self.worker_pids()] if self.server is not None else []
        db_proc = self.db._proc if self.db is not None else None  # noqa: SLF001
        return {
            "server": sum(_cpu_seconds(pid) for pid in server),
            "database": _cpu_seconds(db_proc.pid) if db_proc is not None else 0.0,
        }

    def mongo(self) -> Database:
        """A fresh client on the drill's database (close it with `.client.close()`)."""
        if self.db is None:
            raise DrillError("the cluster is not started")
        client: MongoClient = MongoClient(self.db.uri, serverSelectionTimeoutMS=5000, tz_aware=True)
        return client[DATABASE]

    def stop_database(self, *, hard: bool = False) -> None:
        """Stop the database (SIGTERM, or SIGKILL with `hard`); the server keeps running."""
        assert self.db is not None
        if hard and self.db._proc is not None:  # noqa: SLF001 - a drill may pull the plug
            os.killpg(self.db._proc.pid, signal.SIGKILL)  # noqa: SLF001
            self.db._proc.wait()  # noqa: SLF001
            self.db._proc = None  # noqa: SLF001
        else:
            self.db.stop()

    def start_database(self) -> None:
        """Start the database again on the same port and data folder."""
        assert self.db is not None
        try:
            self.db.start()
        except EmbeddedDatabaseError as exc:
            raise DrillError(f"database did not restart: {exc}") from exc

    def stop(self) -> None:
        """Stop the server group (SIGINT, then SIGKILL after 20 s), then the database."""
        proc, self.server = self.server, None
        if proc is not None:
            _end_group(proc, signal.SIGINT, grace_s=20)
        db, self.db = self.db, None
        if db is not None:
            db.stop()

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _end_group(proc: subprocess.Popen[bytes], sig: int, grace_s: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        log.warning("process group %d did not stop in %.0f s; killing it", proc.pid, grace_s)
    # Whatever is left of the group (a worker that outlived its master) goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def cluster_for(args: Any, prefix: str) -> Iterator[Cluster]:
    """A started cluster in a temporary folder, sized by a drill's common arguments."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        cluster = Cluster(
            Path(tmp),
            workers=args.workers,
            threads=args.threads,
            liveness_timeout_s=args.liveness_timeout,
        )
        with cluster:
            yield cluster
