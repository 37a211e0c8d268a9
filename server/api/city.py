"""The city map and routes over it."""

from __future__ import annotations

from apiflask import APIBlueprint

from server.api.common import BEARER, ERRORS, PREFIX, services
from server.auth import authenticate
from server.schemas import RouteOut, RouteQuery

bp = APIBlueprint("city", __name__, url_prefix=PREFIX, tag="City")


@bp.get("/city")
@bp.doc(summary="The city file", security=BEARER, responses={**ERRORS, 200: "The city file"})
@authenticate()
def city() -> dict:
    return services().city_document


@bp.get("/routes")
@bp.input(RouteQuery, location="query")
@bp.output(RouteOut)
@bp.doc(
    summary="Shortest route between two nodes",
    security=BEARER,
    responses={**ERRORS, 409: "No route between the nodes"},
)
@authenticate()
def route(query_data: RouteQuery) -> dict:
    return services().fleet.route(query_data.from_, query_data.to)
