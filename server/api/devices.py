"""Device registration (fleet key → bearer token), and operators' device list and revocation."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import request

from server.api.common import PREFIX, services
from server.auth import check_fleet_key, list_devices, register_device, revoke_device
from server.schemas import DeviceIn, DeviceInfoOut, DeviceListOut, DeviceOut

bp = APIBlueprint("devices", __name__, url_prefix=PREFIX, tag="Devices")
FLEET_KEY = [{"FleetKey": []}]
OPERATOR_ERRORS = {401: "Missing or wrong fleet key", 404: "No such device"}


def _require_fleet_key() -> None:
    check_fleet_key(request.headers.get("X-Fleet-Key"), services().config.fleet_key)


@bp.post("/devices")
@bp.input(DeviceIn, location="json")
@bp.output(DeviceOut, status_code=201)
@bp.doc(
    summary="Register a car or station",
    description="Needs the `X-Fleet-Key` header. The token is returned once; keep it. "
    "Rate-limited per client address (`429 rate_limited`).",
    security=FLEET_KEY,
    responses={401: "Missing or wrong fleet key", 400: "Bad input", 429: "Too many requests"},
)
def register(json_data: DeviceIn) -> dict:
    svc = services()
    svc.register_limit.hit(request.remote_addr or "unknown")
    _require_fleet_key()
    device, token = register_device(svc.db, kind=json_data.kind, name=json_data.name)
    return {"id": device.id, "token": token}


@bp.get("/devices")
@bp.output(DeviceListOut)
@bp.doc(
    summary="Every registered device (operators; needs X-Fleet-Key)",
    security=FLEET_KEY,
    responses=OPERATOR_ERRORS,
)
def devices() -> dict:
    _require_fleet_key()
    return {"devices": list_devices(services().db)}


@bp.delete("/devices/<device_id>/token")
@bp.output(DeviceInfoOut)
@bp.doc(
    summary="Revoke a device's token (operators; needs X-Fleet-Key)",
    description="Its token is answered `401 bad_token` from then on (at once by this worker, "
    "within `token_cache_s` by the others). A revoked car's open booking fails by liveness. "
    "Revoking again is harmless. The device gets a new id and token only by registering again.",
    security=FLEET_KEY,
    responses=OPERATOR_ERRORS,
)
def revoke(device_id: str) -> dict:
    _require_fleet_key()
    svc = services()
    device = revoke_device(svc.db, device_id)
    svc.tokens.forget(device_id)
    return device
