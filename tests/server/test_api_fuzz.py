"""Schemathesis fuzzes the whole HTTP API from its OpenAPI document: no 5xx, and every
answer matches its documented schema, content type and status (benchmarks/reliability/fuzz.py;
the same fuzzer runs against `pixelopolis server` as `python -m benchmarks.reliability fuzz-api`).
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from apiflask import APIFlask, Schema  # noqa: E402
from apiflask.fields import Integer  # noqa: E402

from benchmarks.reliability import consistency  # noqa: E402
from benchmarks.reliability.fuzz import Ids, fuzz_api, make_ids  # noqa: E402
from server import create_app  # noqa: E402
from tests.helpers.fleet_api import FLEET_KEY, make_config  # noqa: E402
from tests.helpers.live_servers import serving  # noqa: E402

# About 7 s on the 2-core build machine: part of the fast suite.


def test_fuzzing_every_operation_finds_no_5xx_and_no_schema_violation(mongo_uri, db_name):
    config = make_config(mongo_uri, db_name, register_limit="off", booking_limit="off")
    app = create_app(config, start_reaper=False)
    svc = app.extensions["pixelopolis"]
    try:
        with serving(app) as root:
            ids = make_ids(f"{root}/api/v1", FLEET_KEY)
            schema = schemathesis.openapi.from_url(f"{root}/api/v1/openapi.json")
            report = fuzz_api(
                schema,
                ids,
                max_examples=20,
                send=lambda case, headers: case.call(base_url=root, headers=headers, timeout=30),
            )
        assert report.operations >= 20
        assert report.cases >= 10 * report.operations
        # Past authentication and into the handlers, not only 401s.
        assert {"200", "400", "401", "403", "404"} <= set(report.statuses)
        assert not report.failures, report.to_dict()["failures"]
        assert consistency.check(svc.db, liveness_timeout_s=3600).ok
    finally:
        svc.db.client.drop_database(db_name)
        svc.db.client.close()


class Thing(Schema):
    n = Integer(required=True)


def test_the_fuzzer_reports_a_500_and_an_answer_off_its_schema():
    """The harness itself can fail: an app with a crash and a wrong answer is caught."""
    app = APIFlask(__name__, spec_path="/openapi.json")

    @app.get("/crash/<int:n>")
    @app.output(Thing)
    def crash(n: int) -> dict:
        raise RuntimeError("boom")

    @app.get("/wrong")
    @app.output(Thing)
    def wrong() -> tuple[dict, int]:
        return {"n": "not a number"}, 200  # apiflask does not validate output

    with serving(app) as root:
        schema = schemathesis.openapi.from_url(f"{root}/openapi.json")
        ids = Ids("c", "t", "s", "t", "b", "d", "A", "k")
        report = fuzz_api(
            schema,
            ids,
            max_examples=5,
            send=lambda case, headers: case.call(base_url=root, headers=headers, timeout=10),
        )
    problems = {(f["operation"], f["status"]) for f in report.failures}
    assert ("GET /crash/{n}", "500") in problems
    assert any(op == "GET /wrong" for op, _ in problems), report.failures
