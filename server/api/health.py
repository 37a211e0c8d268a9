"""Health: is this worker up, and does the database answer?"""

from __future__ import annotations

from apiflask import APIBlueprint

from server.api.common import PREFIX, services
from server.db import ping
from server.schemas import HealthOut

bp = APIBlueprint("health", __name__, url_prefix=PREFIX, tag="Health")


@bp.get("/health")
@bp.output(HealthOut)
@bp.doc(summary="Server and database state (no auth)", responses={503: "Database down"})
def health() -> tuple[dict, int]:
    svc = services()
    if ping(svc.db):
        return {"status": "ok", "database": "up", "version": svc.version}, 200
    error = {"code": "database_unavailable", "message": "the database does not answer"}
    return {"status": "degraded", "database": "down", "version": svc.version, "error": error}, 503
