"""Bad-input drill: schemathesis fuzzes every operation of the HTTP API from its OpenAPI
document (`/api/v1/openapi.json`).

For each operation, schemathesis generates requests that fit the schema (positive) and
requests that break it (negative), with free path parameters and with the ids of real
devices and bookings (so calls get past 404 into the handlers), each sent with one of a
car's token, a station's token, the fleet key, or nothing (mostly what the operation
asks for). Every answer must be no 5xx
(`not_a_server_error`), match its documented schema (`response_schema_conformance`) and
content type (`content_type_conformance`), and use a documented status
(`status_code_conformance`). The long poll is sent with `wait=0` when it could block.

The same `fuzz_api` runs in-process in tests/server/test_api_fuzz.py (schemathesis over
the WSGI app) and here against `pixelopolis server` over HTTP.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

log = logging.getLogger(__name__)


@dataclass
class Ids:
    """Real things for path parameters, and the credentials to send."""

    car: str
    car_token: str
    station: str
    station_token: str
    booking: str
    spare_device: str  # may be revoked by the fuzzer
    node: str
    fleet_key: str

    def path_parameters(self) -> dict[str, str]:
        return {
            "car_id": self.car,
            "booking_id": self.booking,
            "device_id": self.spare_device,
            "node": self.node,
        }

    def credentials(
        self, security: list[dict[str, Any]] | None
    ) -> list[tuple[str, dict[str, str]]]:
        """Mostly what the operation asks for, sometimes the wrong thing or nothing."""
        car = ("car", {"Authorization": f"Bearer {self.car_token}"})
        station = ("station", {"Authorization": f"Bearer {self.station_token}"})
        fleet = ("fleet key", {"X-Fleet-Key": self.fleet_key})
        none: tuple[str, dict[str, str]] = ("none", {})
        schemes = {name for requirement in security or [] for name in requirement}
        if "FleetKey" in schemes:
            return [fleet, fleet, fleet, fleet, car, none]
        if "BearerAuth" in schemes:
            return [car, station, car, station, car, station, fleet, none]
        return [none, car]


@dataclass
class FuzzReport:
    operations: int = 0
    cases: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "cases": self.cases,
            "statuses": dict(sorted(self.statuses.items())),
            "server_errors": sum(n for s, n in self.statuses.items() if s.startswith("5")),
            "failures": self.failures[:30],
            "failure_count": len(self.failures),
            "seconds": round(self.seconds, 1),
        }


def _checks() -> list[Any]:
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        response_schema_conformance,
        content_type_conformance,
        status_code_conformance,
    ]


def fuzz_api(
    schema: Any,
    ids: Ids,
    *,
    max_examples: int = 25,
    send: Callable[[Any, dict[str, str]], Any] | None = None,
) -> FuzzReport:
    """Fuzz every operation of `schema`; failures are collected, never raised.

    `send(case, headers)` makes the call (default `case.call(headers=...)`, which uses
    the schema's app or base URL). No shrinking: each failure is reported as found.
    """
    send = send or (lambda case, headers: case.call(headers=headers))
    report = FuzzReport()
    started = time.monotonic()
    for result in schema.get_all_operations():
        report.operations += 1
        _fuzz_operation(result.ok(), ids, report, send, max_examples)
    report.seconds = time.monotonic() - started
    return report


def _fuzz_operation(
    operation: Any,
    ids: Ids,
    report: FuzzReport,
    send: Callable[[Any, dict[str, str]], Any],
    max_examples: int,
) -> None:
    from schemathesis import GenerationMode

    checks = _checks()
    params = {p.name for p in operation.iter_parameters() if p.location == "path"}
    fixed = {k: v for k, v in ids.path_parameters().items() if k in params}
    long_poll = operation.path.endswith("/assignment")
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    if fixed:
        strategies.append(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=fixed)
        )
    credentials = ids.credentials(operation.definition.raw.get("security"))
    seen: set[str] = set()

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies), who=st.sampled_from(credentials))
    def probe(case: Any, who: tuple[str, dict[str, str]]) -> None:
        if long_poll and case.path_parameters.get("car_id") == ids.car:
            case.query = {**(case.query or {}), "wait": 0}  # never block the fuzzer
        response = send(case, who[1])
        report.cases += 1
        report.statuses[str(response.status_code)] += 1
        try:
            case.validate_response(response, checks=checks, headers=who[1])
        # schemathesis raises a FailureGroup (a BaseExceptionGroup) for several at once
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported
            text = str(exc).strip().splitlines()
            key = f"{response.status_code} {text[0] if text else ''}"
            if key in seen:
                return
            seen.add(key)
            report.failures.append(
                {
                    "operation": operation.label,
                    "credential": who[0],
                    "status": str(response.status_code),
                    "problem": " ".join(text[:6])[:500],
                    "request": f"{case.method} {case.formatted_path} "
                    f"query={case.query} body={str(case.body)[:200]}",
                }
            )

    probe()


def make_ids(base: str, fleet_key: str) -> Ids:
    """Register a car, a station and a spare device, and book the car once."""
    from city import default_city

    nodes = sorted(default_city().nodes)

    def register(kind: str, name: str) -> tuple[str, str]:
        r = requests.post(
            f"{base}/devices",
            json={"kind": kind, "name": name},
            headers={"X-Fleet-Key": fleet_key},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()["id"], r.json()["token"]

    car, car_token = register("car", "fuzz-car")
    station, station_token = register("station", "fuzz-station")
    spare, _ = register("car", "fuzz-spare")
    requests.put(
        f"{base}/cars/{car}/status",
        json={"state": "ready", "node": nodes[0]},
        headers={"Authorization": f"Bearer {car_token}"},
        timeout=10,
    ).raise_for_status()
    r = requests.post(
        f"{base}/bookings",
        json={"destination": nodes[-1]},
        headers={"Authorization": f"Bearer {station_token}"},
        timeout=10,
    )
    r.raise_for_status()
    return Ids(car, car_token, station, station_token, r.json()["id"], spare, nodes[1], fleet_key)


# -- the drill ----------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-examples", type=int, default=60, help="per operation (default 60)")


def check_arguments(args: argparse.Namespace) -> None:
    if not 1 <= args.max_examples <= 10_000:
        raise ValueError(f"max-examples: must be within 1..10000, got {args.max_examples}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.reliability.cluster import cluster_for

    with cluster_for(args, "drill-fuzz-") as cluster:
        return drive(args, cluster)


def drive(args: argparse.Namespace, cluster: Any) -> dict[str, Any]:
    """The drill on a running cluster."""
    import schemathesis

    from benchmarks.reliability import consistency
    from benchmarks.reliability.cluster import FLEET_KEY

    ids = make_ids(cluster.base, FLEET_KEY)
    schema = schemathesis.openapi.from_url(f"{cluster.base}/openapi.json")
    root = cluster.base.removesuffix("/api/v1")
    session = requests.Session()
    try:
        report = fuzz_api(
            schema,
            ids,
            max_examples=args.max_examples,
            send=lambda case, headers: case.call(
                base_url=root, session=session, headers=headers, timeout=30
            ),
        )
    finally:
        session.close()
    db = cluster.mongo()
    try:
        check = consistency.check(db, liveness_timeout_s=cluster.liveness_timeout_s)
    finally:
        db.client.close()
    result = report.to_dict()
    failures = [f"{f['operation']} {f['status']}: {f['problem'][:160]}" for f in report.failures]
    if not check.ok:
        failures.append(f"consistency check failed: {check.problems[:1]}")
    return {
        "drill": "fuzz-api",
        "settings": {"max_examples": args.max_examples, "workers": args.workers},
        "fuzz": result,
        "consistency_after": check.to_dict(),
        "failures": failures,
        "passed": not failures,
    }


def table(result: dict[str, Any]) -> str:
    f = result["fuzz"]
    c = result["consistency_after"]
    lines = [
        f"- operations: {f['operations']}, requests: {f['cases']} in {f['seconds']} s",
        f"- answers: {f['statuses']} (5xx: {f['server_errors']})",
        f"- consistency check afterwards: {'clean' if c['ok'] else 'FAILED'} "
        f"({c['bookings']} bookings, {c['cars']} cars)",
    ]
    for failure in f["failures"]:
        lines.append(
            f"  - {failure['operation']} ({failure['credential']}) {failure['status']}: "
            f"{failure['problem'][:300]} — {failure['request']}"
        )
    return "\n".join(lines)
