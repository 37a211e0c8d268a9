"""Fleet server speed: booking cycles per second, latency, and route time.

A booking cycle is what one trip costs the server: a station books (POST /bookings),
the car reports arrival (POST .../arrived) and then reports ready (PUT .../status).
The server runs as users run it (`pixelopolis server`, gunicorn workers, embedded
database unless --db is given). Prints a Markdown table for docs/benchmarks.md.

    .venv/bin/python benchmarks/server.py [--seconds 10] [--workers 2] [--db URI]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import requests
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from city import default_city  # noqa: E402
from city.generate import grid_city  # noqa: E402
from server.embedded import free_port  # noqa: E402

KEY = "benchmark-fleet-key"


def start_server(
    data: Path, workers: int, threads: int, db: str | None
) -> tuple[str, subprocess.Popen]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "pixelopolis",
        "--log-level",
        "WARNING",
        "server",
        "--port",
        str(port),
        "--data",
        str(data),
        "--fleet-key",
        KEY,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--liveness-timeout",
        "60",
        # One station here books as fast as the server allows, and every client registers
        # from one address: no rate limits.
        "--booking-limit",
        "off",
        "--register-limit",
        "off",
    ]
    if db:
        cmd += ["--db", db, "--database", f"bench_{os.getpid()}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/health", timeout=1).ok:
                return base, proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def register(session: requests.Session, base: str, kind: str, name: str) -> tuple[str, dict]:
    r = session.post(
        f"{base}/devices",
        json={"kind": kind, "name": name},
        headers={"X-Fleet-Key": KEY},
        timeout=10,
    )
    r.raise_for_status()
    return r.json()["id"], {"Authorization": f"Bearer {r.json()['token']}"}


def booking_cycles(base: str, clients: int, seconds: float, progress: Progress) -> dict:
    """`clients` threads, each a station with its own car, cycling book → arrived → ready."""
    nodes = sorted(default_city().nodes)
    setup = requests.Session()
    pairs = []
    for i in range(clients):
        car, car_h = register(setup, base, "car", f"bench-car-{clients}-{i}")
        _, st_h = register(setup, base, "station", f"bench-st-{clients}-{i}")
        setup.put(
            f"{base}/cars/{car}/status",
            json={"state": "ready", "node": nodes[i % len(nodes)]},
            headers=car_h,
            timeout=10,
        ).raise_for_status()
        pairs.append((car, car_h, st_h))
    car_headers = {car: h for car, h, _ in pairs}
    latencies: list[float] = []
    cycles = errors = conflicts = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    task = progress.add_task(f"{clients} clients", total=seconds)

    def run(i: int) -> None:
        nonlocal cycles, errors, conflicts
        s = requests.Session()
        _, _, st_h = pairs[i]
        k = i
        while time.monotonic() < stop_at:
            k += 1
            dest = nodes[k % len(nodes)]
            t0 = time.perf_counter()
            r = s.post(f"{base}/bookings", json={"destination": dest}, headers=st_h, timeout=30)
            t1 = time.perf_counter()
            if r.status_code == 409:
                with lock:
                    conflicts += 1
                time.sleep(0.002)
                continue
            if r.status_code != 201:
                with lock:
                    errors += 1
                continue
            b = r.json()
            h = car_headers[b["car"]]
            r2 = s.post(f"{base}/bookings/{b['id']}/arrived", headers=h, timeout=30)
            t2 = time.perf_counter()
            r3 = s.put(
                f"{base}/cars/{b['car']}/status",
                json={"state": "ready", "node": dest},
                headers=h,
                timeout=30,
            )
            t3 = time.perf_counter()
            with lock:
                if r2.status_code == 200 and r3.status_code == 200:
                    cycles += 1
                    latencies.extend((t1 - t0, t2 - t1, t3 - t2))
                else:
                    errors += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(0.25)
        progress.update(task, completed=min(seconds, time.monotonic() - started))
    elapsed = time.monotonic() - started
    lat = sorted(latencies) or [float("nan")]
    return {
        "clients": clients,
        "cycles_per_s": cycles / elapsed,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "errors": errors,
        "no_car_409": conflicts,
    }


def route_times(n_nodes: int, pairs: int = 50) -> dict:
    import random

    city = grid_city(n_nodes, seed=1)
    ids = sorted(city.nodes)
    rng = random.Random(7)
    city.route(ids[0], ids[-1])  # the first query builds the landmark tables: not timed
    times = []
    for _ in range(pairs):
        a, b = rng.sample(ids, 2)
        t0 = time.perf_counter()
        city.route(a, b)
        times.append(time.perf_counter() - t0)
    times.sort()
    return {
        "nodes": len(ids),
        "median_ms": 1000 * statistics.median(times),
        "p99_ms": 1000 * times[int(0.99 * (len(times) - 1))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per concurrency level")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--db", help="MongoDB URI (default: the embedded database)")
    parser.add_argument("--routes-only", action="store_true", help="skip the booking cycles")
    args = parser.parse_args()

    rows = []
    if args.routes_only:
        args.clients = ""
    with tempfile.TemporaryDirectory() as tmp, Progress() as progress:
        base, proc = start_server(Path(tmp), args.workers, args.threads, args.db)
        try:
            for clients in (int(c) for c in args.clients.split(",") if c):
                rows.append(booking_cycles(base, clients, args.seconds, progress))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    routes = [route_times(100), route_times(10_000)]

    cpu = platform.processor() or platform.machine()
    print(
        f"\n### Fleet server — {date.today()} — {os.cpu_count()} cores, {cpu}, "
        f"Python {platform.python_version()}, {args.workers} workers x {args.threads} threads, "
        f"database: {'given URI' if args.db else 'embedded SecantusDB'}\n"
    )
    print("| clients | booking cycles/s | request p50 (ms) | request p99 (ms) | errors | 409s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['clients']} | {r['cycles_per_s']:.1f} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['errors']} | {r['no_car_409']} |"
        )
    print("\n| city nodes | route median (ms) | route p99 (ms) |")
    print("|---:|---:|---:|")
    for r in routes:
        print(f"| {r['nodes']} | {r['median_ms']:.2f} | {r['p99_ms']:.2f} |")


if __name__ == "__main__":
    main()
