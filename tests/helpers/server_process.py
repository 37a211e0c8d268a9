"""Run `pixelopolis server` as a real process (gunicorn workers, embedded or given MongoDB)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from server.embedded import free_port


@contextmanager
def running_server(
    data: Path,
    *,
    fleet_key: str,
    workers: int = 2,
    extra: list[str] | None = None,
    port: int | None = None,
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start the server, wait for /health, yield (base URL, process), then stop it cleanly."""
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "pixelopolis",
        "server",
        "--port",
        str(port),
        "--data",
        str(data),
        "--fleet-key",
        fleet_key,
        "--workers",
        str(workers),
        *(extra or []),
    ]
    env = dict(os.environ)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited early: {proc.stdout.read()}")
            try:
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become healthy in 60 s")
            time.sleep(0.2)
        yield base, proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[str], timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def worker_pids(master_pid: int) -> list[int]:
    """Gunicorn worker processes of a master (children named like the server)."""
    out = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(master_pid)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "secantus" not in line]
