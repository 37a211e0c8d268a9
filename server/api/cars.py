"""What cars say (status, the heartbeat) and ask (their next assignment)."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response

from server.api.common import BEARER, ERRORS, PREFIX, services
from server.auth import authenticate, current_device
from server.errors import Forbidden
from server.schemas import AssignmentQuery, BookingOut, CarListOut, CarOut, CarStatusIn

bp = APIBlueprint("cars", __name__, url_prefix=PREFIX, tag="Cars")


def _own_car(car_id: str) -> None:
    if current_device().id != car_id:
        raise Forbidden("a car may only speak for itself", code="wrong_device")


@bp.get("/cars")
@bp.output(CarListOut)
@bp.doc(
    summary="Every car with its state, node and open booking (for live maps)",
    description="Any device may read it. A car silent for longer than the liveness timeout "
    "is shown with `state: offline` and `online: false`.",
    security=BEARER,
    responses=ERRORS,
)
@authenticate()
def list_cars() -> dict:
    return {"cars": services().fleet.list_cars()}


@bp.put("/cars/<car_id>/status")
@bp.input(CarStatusIn, location="json")
@bp.output(CarOut)
@bp.doc(summary="Report a car's status (also its heartbeat)", security=BEARER, responses=ERRORS)
@authenticate("car")
def status(car_id: str, json_data: CarStatusIn) -> dict:
    _own_car(car_id)
    return services().fleet.report_status(car_id, json_data.model_dump())


@bp.get("/cars/<car_id>/assignment")
@bp.input(AssignmentQuery, location="query")
@bp.output(BookingOut, description="The car's open booking")
@bp.doc(
    summary="Long-poll for the car's next booking",
    description="Waits up to `wait` seconds; 204 when nothing was assigned meanwhile.",
    security=BEARER,
    responses={**ERRORS, 204: "No booking within the wait"},
)
@authenticate("car")
def assignment(car_id: str, query_data: AssignmentQuery) -> tuple[dict, int] | Response:
    _own_car(car_id)
    svc = services()
    booking = svc.fleet.assignment(car_id)
    wait = min(query_data.wait, svc.config.max_wait_s)
    if booking is None and wait > 0:
        booking = svc.waiters.wait(car_id, wait)
    if booking is None:
        return Response(status=204)
    return booking, 200
