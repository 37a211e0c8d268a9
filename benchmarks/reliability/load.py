"""Load drill: stations booking and cars driving against several server workers.

The fleet grows level by level (`--ramp`: station counts; `--cars-per-station` cars for
each) and every level runs for its share of `--duration`. Per level: requests/s held,
p50/p99 latency (long polls excluded: they wait on purpose), bookings and trips per
second, errors by status. The level where throughput stops rising by 10 % or the p99
passes 1 s is where this machine saturates. Targets: no 5xx, no double booking, no lost
booking, a clean consistency check.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from benchmarks.reliability.clients import Knobs
from benchmarks.reliability.cluster import Cluster, cluster_for
from benchmarks.reliability.fleet import Fleet, verdict

SATURATION_GAIN = 1.10
SATURATION_P99_MS = 1000.0
TOTALS = ("http_500", "bad_5xx_bodies", "server_errors", "gave_up", "no_answer")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration", type=float, default=240.0, help="seconds in all (default 240)")
    p.add_argument(
        "--ramp",
        default="2,4,8,16,32",
        help="station counts, one level each (default 2,4,8,16,32; one value: a steady load)",
    )
    p.add_argument("--cars-per-station", type=int, default=2, help="default 2")
    p.add_argument("--step-s", type=float, default=0.1, help="car driving time per node")


def parse_ramp(text: str) -> list[int]:
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"ramp: expected station counts like 2,4,8, got {text!r}") from None
    if not levels or any(n < 1 or n > 256 for n in levels) or levels != sorted(levels):
        raise ValueError(f"ramp: rising station counts within 1..256, got {text!r}")
    return levels


def check_arguments(args: argparse.Namespace) -> None:
    parse_ramp(args.ramp)
    if not 1 <= args.cars_per_station <= 16:
        raise ValueError(f"cars-per-station: must be within 1..16, got {args.cars_per_station}")
    if not 0.0 <= args.step_s <= 10.0:
        raise ValueError(f"step-s: must be within 0..10, got {args.step_s}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    with cluster_for(args, "drill-load-") as cluster:
        return drive(args, cluster)


def drive(args: argparse.Namespace, cluster: Cluster) -> dict[str, Any]:
    """The drill on a running cluster."""
    levels = parse_ramp(args.ramp)
    per_level = args.duration / len(levels)
    knobs = Knobs(step_s=args.step_s)
    rows: list[dict[str, Any]] = []
    outcomes: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    fleet = Fleet(cluster, knobs, seed=args.seed)
    try:
        for stations in levels:
            cars = stations * args.cars_per_station
            fleet.grow(stations, cars)
            time.sleep(min(2.0, per_level / 5))  # let the new devices settle in
            acked0, closes0 = _ledger_counts(fleet)
            cpu0, client0 = cluster.cpu_seconds(), time.process_time()
            fleet.recorder.reset()
            time.sleep(per_level)
            traffic = fleet.recorder.summary()
            cpu1, client1 = cluster.cpu_seconds(), time.process_time()
            acked1, closes1 = _ledger_counts(fleet)
            seconds = traffic["seconds"]
            rows.append(
                {
                    "stations": stations,
                    "cars": cars,
                    "bookings_per_s": round((acked1 - acked0) / seconds, 1),
                    "trips_per_s": round((closes1 - closes0) / seconds, 1),
                    # Cores busy on average: the machine has os.cpu_count() of them.
                    "cores_server": round((cpu1["server"] - cpu0["server"]) / seconds, 2),
                    "cores_database": round((cpu1["database"] - cpu0["database"]) / seconds, 2),
                    "cores_clients": round((client1 - client0) / seconds, 2),
                    **traffic,
                }
            )
            outcomes.update(traffic["by_outcome"])
            for key in TOTALS:
                totals[key] += traffic[key]
        fleet.recorder.reset()
        result = fleet.finish()
        tail = fleet.recorder.summary()
        outcomes.update(tail["by_outcome"])
        for key in TOTALS:
            totals[key] += tail[key]
    finally:
        fleet.close()
    traffic = {"by_outcome": dict(sorted(outcomes.items())), **totals}
    failures = verdict(result, traffic)
    if traffic["server_errors"]:
        failures.append(f"{traffic['server_errors']} 5xx answers")
    return {
        "drill": "load",
        "settings": {
            "duration_s": args.duration,
            "ramp": levels,
            "cars_per_station": args.cars_per_station,
            "step_s": args.step_s,
            "workers": cluster.workers,
            "threads": cluster.threads,
        },
        "levels": rows,
        "saturation": saturation(rows),
        "traffic": traffic,
        **result,
        "failures": failures,
        "passed": not failures,
    }


def _ledger_counts(fleet: Fleet) -> tuple[int, int]:
    with fleet.ledger.lock:
        arrived = sum(1 for s in fleet.ledger.closes.values() if s == "arrived")
        return len(fleet.ledger.acked), arrived


def saturation(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The peak level, and the first level that gained < 10 % or whose p99 passed 1 s."""
    if not rows:
        return {}
    peak = max(rows, key=lambda r: r["requests_per_s"])
    first = None
    for prev, row in zip(rows, rows[1:], strict=False):
        gained = row["requests_per_s"] < SATURATION_GAIN * prev["requests_per_s"]
        if gained or row["p99_ms"] > SATURATION_P99_MS:
            first = row
            break
    return {
        "peak_requests_per_s": peak["requests_per_s"],
        "peak_at_stations": peak["stations"],
        "peak_at_cars": peak["cars"],
        "saturated_at_stations": first["stations"] if first else None,
        "saturated_at_cars": first["cars"] if first else None,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| stations | cars | requests/s | p50 (ms) | p99 (ms) | bookings/s | trips/s "
        "| 5xx | no answer | 409 | cores: server / database / clients |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["levels"]:
        lines.append(
            f"| {r['stations']} | {r['cars']} | {r['requests_per_s']} | {r['p50_ms']} | "
            f"{r['p99_ms']} | {r['bookings_per_s']} | {r['trips_per_s']} | "
            f"{r['server_errors']} | {r['no_answer']} | {r['by_outcome'].get('409', 0)} | "
            f"{r['cores_server']} / {r['cores_database']} / {r['cores_clients']} |"
        )
    last = result["levels"][-1] if result["levels"] else None
    if last:
        lines += ["", f"Per endpoint at {last['stations']} stations / {last['cars']} cars:", ""]
        lines += [
            "| endpoint | requests | p50 (ms) | p99 (ms) | answers |",
            "|---|---:|---:|---:|---|",
        ]
        for name, e in last["endpoints"].items():
            answers = ", ".join(f"{k}: {v}" for k, v in e["outcomes"].items())
            lines.append(f"| {name} | {e['count']} | {e['p50_ms']} | {e['p99_ms']} | {answers} |")
    return "\n".join(lines)
