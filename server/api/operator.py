"""Operator calls, behind the fleet key: list bookings, pause a car or take it out of service."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import request

from server.api.common import PREFIX, services
from server.auth import check_fleet_key
from server.schemas import BookingListOut, BookingListQuery, CarOut, ServiceIn

bp = APIBlueprint("operator", __name__, url_prefix=PREFIX, tag="Operator")
FLEET_KEY = [{"FleetKey": []}]
ERRORS = {400: "Bad input", 401: "Missing or wrong fleet key", 404: "No such car"}


def _require_fleet_key() -> None:
    check_fleet_key(request.headers.get("X-Fleet-Key"), services().config.fleet_key)


@bp.get("/bookings")
@bp.input(BookingListQuery, location="query")
@bp.output(BookingListOut)
@bp.doc(
    summary="The newest bookings (operators; needs X-Fleet-Key)",
    description="Shows every booking with its stream token, so it needs the fleet key.",
    security=FLEET_KEY,
    responses=ERRORS,
)
def list_bookings(query_data: BookingListQuery) -> dict:
    _require_fleet_key()
    fleet = services().fleet
    return {"bookings": fleet.list_bookings(limit=query_data.limit, open_only=query_data.open)}


@bp.put("/cars/<car_id>/service")
@bp.input(ServiceIn, location="json")
@bp.output(CarOut)
@bp.doc(
    summary="Pause a car, take it out of service, or return it to service (needs X-Fleet-Key)",
    description="A car that is not `in_service` is never booked. Its open booking, if any, "
    "is not touched. The car sees `service` in every status answer.",
    security=FLEET_KEY,
    responses=ERRORS,
)
def set_service(car_id: str, json_data: ServiceIn) -> dict:
    _require_fleet_key()
    return services().fleet.set_service(car_id, json_data.service)
