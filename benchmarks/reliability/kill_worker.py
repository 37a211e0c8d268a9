"""Fault drill: SIGKILL a server worker while stations are booking.

Every `--interval` seconds, at a moment when a station's `POST /bookings` is in flight,
one gunicorn worker is killed with SIGKILL; gunicorn starts a new one. Clients retry a
request that got no answer (as the real car and station do). Targets: every worker is
replaced, no request goes unanswered for good, no 500, nothing lost or doubled, and the
consistency check is clean (a claim whose booking the dead worker never wrote is undone
by the server within 10 s).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import time
from typing import Any

from benchmarks.reliability import fleet as fleet_mod
from benchmarks.reliability.clients import Knobs
from benchmarks.reliability.cluster import Cluster, DrillError, cluster_for
from benchmarks.reliability.fleet import Fleet, verdict

BOOKING = "POST /bookings"


def add_arguments(p: argparse.ArgumentParser) -> None:
    fleet_mod.add_arguments(p, duration=60, stations=4, cars=8, step_s=0.1)
    p.add_argument("--interval", type=float, default=8.0, help="seconds between kills")
    p.add_argument("--retry-s", type=float, default=20.0, help="how long clients retry")


def check_arguments(args: argparse.Namespace) -> None:
    fleet_mod.check_arguments(args)
    if not 0.5 <= args.interval < args.duration:
        raise ValueError(f"interval: must be within 0.5..duration, got {args.interval}")
    if not 1.0 <= args.retry_s <= 120.0:
        raise ValueError(f"retry-s: must be within 1..120, got {args.retry_s}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    with cluster_for(args, "drill-kill-worker-") as cluster:
        return drive(args, cluster)


def drive(args: argparse.Namespace, cluster: Cluster) -> dict[str, Any]:
    """The drill on a running cluster."""
    rng = random.Random(args.seed)
    kills: list[dict[str, Any]] = []
    fleet = Fleet(cluster, Knobs(step_s=args.step_s, retry_s=args.retry_s), seed=args.seed)
    try:
        fleet.grow(args.stations, args.cars)
        end = time.monotonic() + args.duration
        while time.monotonic() + args.interval < end:
            time.sleep(args.interval)
            kills.append(_kill_one(cluster, fleet, rng))
        time.sleep(max(0.0, end - time.monotonic()))
        result = fleet.finish()
        traffic = fleet.recorder.summary()
    finally:
        fleet.close()
    failures = verdict(result, traffic, retried=True)
    if traffic["gave_up"]:
        failures.append(f"{traffic['gave_up']} requests unanswered after {args.retry_s:g} s")
    if any(k["replaced_s"] is None for k in kills):
        failures.append("a killed worker was not replaced within 30 s")
    if not kills:
        failures.append("no worker was killed (duration shorter than the interval)")
    return {
        "drill": "kill-worker",
        "settings": {
            "duration_s": args.duration,
            "stations": args.stations,
            "cars": args.cars,
            "workers": cluster.workers,
            "interval_s": args.interval,
        },
        "kills": kills,
        "traffic": traffic,
        **result,
        "failures": failures,
        "passed": not failures,
    }


def _kill_one(cluster: Cluster, fleet: Fleet, rng: random.Random) -> dict[str, Any]:
    pids = cluster.worker_pids()
    if not pids:
        raise DrillError("the server has no workers left")
    # Wait (up to 2 s) for a booking request in flight, so the kill lands mid-booking.
    deadline = time.monotonic() + 2.0
    while fleet.recorder.in_flight(BOOKING) == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    mid_booking = fleet.recorder.in_flight(BOOKING) > 0
    victim = rng.choice(pids)
    os.kill(victim, signal.SIGKILL)
    t0 = time.monotonic()
    replaced = None
    while time.monotonic() - t0 < 30:
        now = cluster.worker_pids()
        if victim not in now and len(now) >= cluster.workers:
            replaced = round(time.monotonic() - t0, 2)
            break
        time.sleep(0.05)
    return {"pid": victim, "mid_booking": mid_booking, "replaced_s": replaced}


def table(result: dict[str, Any]) -> str:
    t = result["traffic"]
    lines = [
        f"- workers killed: {len(result['kills'])}, while a booking was in flight: "
        f"{sum(k['mid_booking'] for k in result['kills'])}, replaced by gunicorn in "
        f"{', '.join(str(k['replaced_s']) for k in result['kills'])} s",
        f"- requests: {t['requests']} ({t['requests_per_s']}/s), p50 {t['p50_ms']} ms, "
        f"p99 {t['p99_ms']} ms; cut off and retried: {t['no_answer']}",
    ]
    return "\n".join(lines)
