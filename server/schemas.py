"""Request and response bodies of the HTTP API; the OpenAPI document is generated from these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NODE_ID = r"^[A-Za-z0-9_.-]{1,64}$"
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
HTTP_URL = r"^https?://[^\s]+$"


class _Strict(BaseModel):
    """JSON bodies: exact types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable error code")
    message: str = Field(description="what went wrong, for people")


class ErrorBody(BaseModel):
    error: ErrorDetail


class DeviceIn(_Strict):
    kind: Literal["car", "station"]
    name: str = Field(min_length=1, max_length=64, pattern=PRINTABLE)


class DeviceOut(BaseModel):
    id: str
    token: str = Field(description="bearer token; shown once, stored hashed")


class DeviceInfoOut(BaseModel):
    id: str
    kind: Literal["car", "station"]
    name: str
    created_at: str | None = Field(description="ISO 8601 UTC")
    revoked: bool = Field(description="its token no longer works")
    revoked_at: str | None = Field(description="ISO 8601 UTC, or null")


class DeviceListOut(BaseModel):
    devices: list[DeviceInfoOut]


class RouteStep(BaseModel):
    node: str
    sign: str
    turn: Literal["depart", "left", "straight", "right", "u-turn", "arrive"]


class RouteOut(BaseModel):
    steps: list[RouteStep]
    length_m: float


class RouteQuery(BaseModel):
    from_: str = Field(alias="from", pattern=NODE_ID)
    to: str = Field(pattern=NODE_ID)


class CarStatusIn(_Strict):
    state: Literal["ready", "driving", "paused", "offline"]
    node: str = Field(pattern=NODE_ID)
    from_node: str | None = Field(
        default=None,
        pattern=NODE_ID,
        description=(
            "the node the car came from: it stands at the end of the road from_node → node, "
            "so its next route starts with the turn it must take at node"
        ),
    )
    battery_v: float | None = Field(default=None, ge=0, le=100)
    stream_url: str | None = Field(
        default=None, max_length=2048, pattern=HTTP_URL, description="the car's MJPEG stream"
    )


class CarOut(BaseModel):
    id: str
    name: str
    state: str = Field(description="last reported state, or offline when the car went silent")
    node: str | None
    from_node: str | None = None
    battery_v: float | None = None
    stream_url: str | None = None
    booking: str | None = Field(description="id of the car's open booking, if any")
    online: bool
    service: Literal["in_service", "paused", "out_of_service"] = Field(
        default="in_service",
        description="set by an operator; only an `in_service` car is ever booked",
    )


class ServiceIn(_Strict):
    service: Literal["in_service", "paused", "out_of_service"]


class BookingListQuery(BaseModel):
    open: bool = Field(default=False, description="only open (assigned or driving) bookings")
    limit: int = Field(default=50, ge=1, le=500)


class CarListOut(BaseModel):
    cars: list[CarOut] = Field(description="every registered car, by id")


class AssignmentQuery(BaseModel):
    wait: float = Field(default=0, ge=0, le=60, description="seconds to wait for a booking")


class BookingIn(_Strict):
    destination: str = Field(min_length=1, max_length=64)


IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,128}$"


class BookingHeaders(BaseModel):
    """`Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header): the same key from
    the same station books once; a repeat gets the booking the first request made."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    idempotency_key: str | None = Field(
        default=None,
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY,
        description=(
            "a key the station makes once per booking it means (1-128 visible ASCII "
            "characters, e.g. a UUID) and sends again on every retry of that booking"
        ),
    )


class RerouteIn(_Strict):
    node: str = Field(
        pattern=NODE_ID, description="the last node the car is sure of (where it stands now)"
    )
    from_node: str | None = Field(
        default=None, pattern=NODE_ID, description="the node it came from, if known"
    )


class ProgressIn(_Strict):
    node: str = Field(min_length=1, max_length=64)


class BookingOut(BaseModel):
    id: str
    car: str
    station: str | None = Field(description="the booking station; null for a relocation")
    kind: Literal["trip", "relocation"] = Field(
        default="trip",
        description=(
            "`trip`: booked by a station; `relocation`: the server moves an idle car that "
            "stands on a trip's road out of the way"
        ),
    )
    destination: str
    route: RouteOut
    stream_url: str | None
    stream_token: str | None = Field(
        description="viewer token of this booking for the car's stream: "
        "`GET <stream_url>?token=<stream_token>`; shown to the booking's station and car only"
    )
    status: Literal["assigned", "driving", "arrived", "cancelled", "failed"]
    passed: list[str] = Field(description="route nodes the car has reported passing, in order")
    reason: str | None = Field(default=None, description="why a booking failed")
    created_at: str
    updated_at: str


class BookingListOut(BaseModel):
    bookings: list[BookingOut] = Field(description="newest first")


class ReservationIn(_Strict):
    node: str = Field(min_length=1, max_length=64, description="a node id of the city")


class ReservationOut(BaseModel):
    node: str
    car: str = Field(description="the holder")
    acquired_at: str = Field(description="when this car took the node (kept on renewal)")
    expires_at: str = Field(description="end of the lease unless renewed")


class ReservationListOut(BaseModel):
    reservations: list[ReservationOut] = Field(description="valid holds only, by node")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["up", "down"]
    version: str
    error: ErrorDetail | None = None
