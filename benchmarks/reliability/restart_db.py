"""Fault drill: stop the database under load, then start it again.

A third of the way into the run the database is stopped (SIGTERM, or SIGKILL with
`--hard`) for `--down-s` seconds, then started again on the same port and data. While it
is down, probes of `/health` and of an authenticated call (`GET /cars`) must answer `503`
with the JSON error body `{"error": {"code": "database_unavailable", ...}}` — never a 500,
never a hang.
Afterwards: how long until `/health` is 200 again and until the next booking succeeds;
nothing acknowledged is lost, nothing doubled, and the consistency check is clean. Cars
silent for longer than the liveness timeout during the outage have their trips failed,
by design (docs/server.md, Liveness).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from typing import Any

import requests

from benchmarks.reliability import fleet as fleet_mod
from benchmarks.reliability.clients import Knobs
from benchmarks.reliability.cluster import Cluster, cluster_for
from benchmarks.reliability.fleet import Fleet, verdict


def add_arguments(p: argparse.ArgumentParser) -> None:
    fleet_mod.add_arguments(p, duration=45, stations=4, cars=8, step_s=0.2)
    p.add_argument("--down-s", type=float, default=5.0, help="seconds the database is down")
    p.add_argument("--hard", action="store_true", help="SIGKILL the database instead of SIGTERM")


def check_arguments(args: argparse.Namespace) -> None:
    fleet_mod.check_arguments(args)
    if not 0.5 <= args.down_s <= 120.0:
        raise ValueError(f"down-s: must be within 0.5..120, got {args.down_s}")
    if args.duration < 3 * args.down_s:
        raise ValueError(f"duration: must be at least 3 x down-s, got {args.duration}")


class Prober(threading.Thread):
    """Asks one path every 0.2 s (after the last answer); keeps the answers that came
    before `stop` was set (the database is started again right after)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.stop = threading.Event()
        self.answers: Counter[str] = Counter()
        self.slowest_s = 0.0
        self.label = "/" + url.rsplit("/", 1)[1]

    def run(self) -> None:
        s = requests.Session()
        while not self.stop.wait(0.2):
            t0 = time.monotonic()
            try:
                r = s.get(self.url, headers=self.headers, timeout=15)
            except requests.RequestException as exc:
                answer = f"{self.label} {type(exc).__name__}"
            else:
                code = ""
                if r.status_code >= 500:
                    try:
                        code = " " + r.json()["error"]["code"]
                    except (ValueError, KeyError, TypeError):
                        code = " (no JSON error body)"
                answer = f"{self.label} {r.status_code}{code}"
            if self.stop.is_set():
                break  # answered after the database was started again: not an outage answer
            self.slowest_s = max(self.slowest_s, time.monotonic() - t0)
            self.answers[answer] += 1
        s.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    with cluster_for(args, "drill-restart-db-") as cluster:
        return drive(args, cluster)


def drive(args: argparse.Namespace, cluster: Cluster) -> dict[str, Any]:
    """The drill on a running cluster (whose database it stops and starts)."""
    knobs = Knobs(step_s=args.step_s, retry_s=args.down_s + 20)
    fleet = Fleet(cluster, knobs, seed=args.seed)
    try:
        fleet.grow(args.stations, args.cars)
        start = time.monotonic()
        time.sleep(args.duration / 3)
        probers = [
            Prober(f"{cluster.base}/health", {}),
            Prober(f"{cluster.base}/cars", fleet.stations[0].me.headers),
        ]
        booked_before = len(fleet.ledger.acked)
        t_stop = time.monotonic()
        cluster.stop_database(hard=args.hard)
        t_down = time.monotonic()
        for prober in probers:
            prober.start()
        time.sleep(args.down_s)
        for prober in probers:
            prober.stop.set()
        booked_during = len(fleet.ledger.acked) - booked_before
        t_start = time.monotonic()
        cluster.start_database()
        t_up = time.monotonic()
        outage: dict[str, int] = {}
        for prober in probers:
            prober.join()
            outage.update(prober.answers)
        slowest = max(prober.slowest_s for prober in probers)
        health_s = _until(lambda: _healthy(cluster.base), 60)
        acked_at_up = len(fleet.ledger.acked)
        booking_s = _until(lambda: len(fleet.ledger.acked) > acked_at_up, 60)
        time.sleep(max(0.0, start + args.duration - time.monotonic()))
        result = fleet.finish()
        traffic = fleet.recorder.summary()
    finally:
        fleet.close()
    failures = verdict(result, traffic, retried=True)
    bad = {k: n for k, n in outage.items() if not k.endswith(" 503 database_unavailable")}
    if bad:
        failures.append(f"answers other than 503 database_unavailable while down: {bad}")
    if not outage:
        failures.append("no probe was answered while the database was down")
    if traffic["gave_up"]:
        failures.append(f"{traffic['gave_up']} requests unanswered after the outage")
    if health_s is None or booking_s is None:
        failures.append("the server did not recover within 60 s of the database's return")
    return {
        "drill": "restart-db",
        "settings": {
            "duration_s": args.duration,
            "down_s": args.down_s,
            "hard": args.hard,
            "stations": args.stations,
            "cars": args.cars,
            "workers": cluster.workers,
        },
        "outage": {
            "stopping_s": round(t_down - t_stop, 1),
            "down_s": round(t_start - t_down, 1),
            "starting_s": round(t_up - t_start, 1),
            "probe_answers": outage,
            "slowest_probe_s": round(slowest, 2),
            "bookings_acknowledged_while_down": booked_during,
            "health_back_after_s": health_s,
            "first_booking_after_s": booking_s,
        },
        "traffic": traffic,
        **result,
        "failures": failures,
        "passed": not failures,
    }


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _until(condition: Any, timeout_s: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if condition():
            return round(time.monotonic() - t0, 2)
        time.sleep(0.05)
    return None


def table(result: dict[str, Any]) -> str:
    o, t = result["outage"], result["traffic"]
    return "\n".join(
        [
            f"- database stopped in {o['stopping_s']} s, down {o['down_s']} s, started again in "
            f"{o['starting_s']} s; probe answers while down: {o['probe_answers']} "
            f"(slowest {o['slowest_probe_s']} s)",
            f"- back: /health 200 after {o['health_back_after_s']} s, next booking after "
            f"{o['first_booking_after_s']} s",
            f"- requests: {t['requests']}, answered 503 and retried: "
            f"{t['by_outcome'].get('503', 0)}, given up: {t['gave_up']}",
        ]
    )
