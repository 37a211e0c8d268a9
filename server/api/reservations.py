"""Exclusive node (intersection) reservations: cars take, renew and release them."""

from __future__ import annotations

from apiflask import APIBlueprint

from server.api.common import BEARER, ERRORS, PREFIX, services
from server.auth import authenticate, current_device
from server.schemas import ReservationIn, ReservationListOut, ReservationOut

bp = APIBlueprint("reservations", __name__, url_prefix=PREFIX, tag="Reservations")


@bp.post("/reservations")
@bp.input(ReservationIn, location="json")
@bp.output(ReservationOut, status_code=201, description="Granted, or renewed by its holder")
@bp.doc(
    summary="Reserve a node for this car, or renew its lease",
    description="One holder per node. A hold is valid while its lease runs "
    "(`reservation_lease_s`, renewed by posting again) and its car keeps reporting its "
    "status; an invalid hold is taken over. `404 unknown_node` for a node not in the city.",
    security=BEARER,
    responses={**ERRORS, 409: "Another car validly holds the node (`resource_busy`)"},
)
@authenticate("car")
def reserve(json_data: ReservationIn) -> dict:
    return services().reservations.acquire(json_data.node, current_device().id)


@bp.delete("/reservations/<node>")
@bp.output(ReservationOut, description="The released reservation")
@bp.doc(
    summary="Release this car's hold of a node",
    description="`404 not_reserved` when no car validly holds it (or `unknown_node`), "
    "`409 not_holder` when another car does.",
    security=BEARER,
    responses={**ERRORS, 409: "Another car holds the node (`not_holder`)"},
)
@authenticate("car")
def release(node: str) -> dict:
    return services().reservations.release(node, current_device().id)


@bp.get("/reservations")
@bp.output(ReservationListOut)
@bp.doc(summary="Every valid node reservation", security=BEARER, responses=ERRORS)
@authenticate()
def list_reservations() -> dict:
    return {"reservations": services().reservations.list_valid()}
