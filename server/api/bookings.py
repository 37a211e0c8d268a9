"""Bookings: stations book and cancel, cars report progress and arrival."""

from __future__ import annotations

from apiflask import APIBlueprint

from server.api.common import BEARER, ERRORS, PREFIX, services
from server.auth import authenticate, current_device
from server.fleet import booking_view
from server.schemas import BookingHeaders, BookingIn, BookingOut, ProgressIn, RerouteIn

bp = APIBlueprint("bookings", __name__, url_prefix=PREFIX, tag="Bookings")
CLOSED = {409: "The booking is already closed, or the node is not ahead on its route"}


@bp.post("/bookings")
@bp.input(BookingIn, location="json")
@bp.input(BookingHeaders, location="headers")
@bp.output(BookingOut, status_code=201)
@bp.doc(
    summary="Book the nearest ready car to a destination",
    description=(
        "Send an `Idempotency-Key` to make retries safe: when the answer to a booking is "
        "lost (a timeout, a dropped connection, a 503), send the same request with the "
        "same key again. If the first one was stored, its booking comes back (201, with "
        "`Idempotent-Replayed: true`) and no second car is sent."
    ),
    security=BEARER,
    responses={
        **ERRORS,
        409: "No car is ready (`no_car_available`), or the key was used for another "
        "destination (`idempotency_key_reused`)",
    },
)
@authenticate("station")
def book(json_data: BookingIn, headers_data: BookingHeaders) -> tuple[dict, int, dict]:
    svc = services()
    station = current_device().id
    key = headers_data.idempotency_key
    if key is not None:  # a replay costs one indexed read: not held to the rate limit
        earlier = svc.fleet.replay(station, key, json_data.destination)
        if earlier is not None:
            return earlier, 201, {"Idempotent-Replayed": "true"}
    svc.booking_limit.hit(station)
    booking, created = svc.fleet.book(station, json_data.destination, key)
    if created:
        svc.waiters.notify(booking["car"], booking)
    return booking, 201, {"Idempotent-Replayed": "false" if created else "true"}


@bp.get("/bookings/<booking_id>")
@bp.output(BookingOut)
@bp.doc(summary="A booking (its station or car only)", security=BEARER, responses=ERRORS)
@authenticate("station", "car")
def get(booking_id: str) -> dict:
    device = current_device()
    return booking_view(services().fleet.booking_for(booking_id, device.id, "station", "car"))


@bp.post("/bookings/<booking_id>/progress")
@bp.input(ProgressIn, location="json")
@bp.output(BookingOut)
@bp.doc(
    summary="The car passed a node of the route", security=BEARER, responses={**ERRORS, **CLOSED}
)
@authenticate("car")
def progress(booking_id: str, json_data: ProgressIn) -> dict:
    return services().fleet.progress(booking_id, current_device().id, json_data.node)


@bp.post("/bookings/<booking_id>/reroute")
@bp.input(RerouteIn, location="json")
@bp.output(BookingOut)
@bp.doc(
    summary="The car lost its way: route it again from where it is to the destination",
    description=(
        "The car saw a wrong sign or missed a node. The booking's route is replaced by the "
        "shortest route from `node` (leaving by a turn allowed from the road `from_node` → "
        "`node` when given) to the destination; nodes passed so far are kept, and progress "
        "then follows the new route."
    ),
    security=BEARER,
    responses={**ERRORS, **CLOSED},
)
@authenticate("car")
def reroute(booking_id: str, json_data: RerouteIn) -> dict:
    return services().fleet.reroute(
        booking_id, current_device().id, json_data.node, json_data.from_node
    )


@bp.post("/bookings/<booking_id>/arrived")
@bp.output(BookingOut)
@bp.doc(
    summary="The car arrived at the destination", security=BEARER, responses={**ERRORS, **CLOSED}
)
@authenticate("car")
def arrived(booking_id: str) -> dict:
    return services().fleet.arrived(booking_id, current_device().id)


@bp.post("/bookings/<booking_id>/cancel")
@bp.output(BookingOut)
@bp.doc(summary="The station cancels its booking", security=BEARER, responses={**ERRORS, **CLOSED})
@authenticate("station")
def cancel(booking_id: str) -> dict:
    return services().fleet.cancel(booking_id, current_device().id)
