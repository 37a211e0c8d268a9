"""The embedded default database: SecantusDB run as a child process on loopback.

SecantusDB (GPL-2.0) speaks the MongoDB wire protocol; we only ever start its
`secantusd-py` program and talk to it through pymongo, never import it.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient

log = logging.getLogger(__name__)


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not start (message says why, in one line)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: have the kernel stop the database if this process dies without cleaning up."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _program() -> str:
    """The `secantusd-py` program installed beside this Python."""
    beside = Path(sys.executable).with_name("secantusd-py")
    if beside.exists():
        return str(beside)
    found = shutil.which("secantusd-py")
    if found is None:
        raise EmbeddedDatabaseError(
            "secantusd-py not found: install the project (make demo / make test) or pass --db"
        )
    return found


class EmbeddedDatabase:
    """A SecantusDB server whose data lives in `data_dir`; use as a context manager."""

    def __init__(self, data_dir: Path, *, host: str = "127.0.0.1", port: int | None = None):
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port or free_port(host)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path = self.data_dir / "secantus.log"

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    def start(self, timeout_s: float = 30.0) -> str:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EmbeddedDatabaseError(
                f"cannot create data folder {self.data_dir}: {exc}"
            ) from exc
        if not os.access(self.data_dir, os.W_OK):
            raise EmbeddedDatabaseError(f"data folder {self.data_dir} is not writable")
        storage = self.data_dir / "db"
        cmd = [
            _program(),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--storage-path",
            str(storage),
            "--log-level",
            "WARNING",
            # A single node needs no replica-set advertisement; as a standalone the driver
            # skips session bookkeeping, about 30% less work per write here.
            "--standalone",
        ]
        log_file = open(self._log_path, "ab")  # noqa: SIM115 - handed to the child process
        self._proc = subprocess.Popen(  # noqa: S603
            cmd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        log_file.close()
        deadline = time.monotonic() + timeout_s
        client: MongoClient = MongoClient(self.uri, serverSelectionTimeoutMS=250)
        try:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise EmbeddedDatabaseError(self._explain_exit())
                try:
                    client.admin.command("ping")
                    log.info("embedded database up at %s (data in %s)", self.uri, storage)
                    return self.uri
                except Exception:  # noqa: BLE001 - still starting
                    time.sleep(0.1)
        finally:
            client.close()
        self.stop()
        raise EmbeddedDatabaseError(f"embedded database did not start within {timeout_s:.0f} s")

    def _explain_exit(self) -> str:
        text = self._log_path.read_text(errors="replace")[-4000:] if self._log_path.exists() else ""
        if "already being managed by another process" in text or "WiredTiger.lock" in text:
            return (
                f"another Pixelopolis server is already using the data folder {self.data_dir} "
                "(stop it, or pass another --data)"
            )
        last = [line for line in text.splitlines() if line.strip()][-1:] or ["no output"]
        return f"embedded database exited at start: {last[0][:200]} (log: {self._log_path})"

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop cleanly (SIGTERM lets WiredTiger close its files), then force if needed."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("embedded database did not stop in %.0f s; killing it", timeout_s)
            proc.kill()
            proc.wait()
        log.info("embedded database stopped")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> EmbeddedDatabase:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
