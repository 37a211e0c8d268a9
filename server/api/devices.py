"""Device registration: cars and stations get a bearer token for the fleet key."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import request

from server.api.common import PREFIX, services
from server.auth import check_fleet_key, register_device
from server.schemas import DeviceIn, DeviceOut

bp = APIBlueprint("devices", __name__, url_prefix=PREFIX, tag="Devices")


@bp.post("/devices")
@bp.input(DeviceIn, location="json")
@bp.output(DeviceOut, status_code=201)
@bp.doc(
    summary="Register a car or station",
    description="Needs the `X-Fleet-Key` header. The token is returned once; keep it.",
    responses={401: "Missing or wrong fleet key", 400: "Bad input"},
)
def register(json_data: DeviceIn) -> dict:
    svc = services()
    check_fleet_key(request.headers.get("X-Fleet-Key"), svc.config.fleet_key)
    device, token = register_device(svc.db, kind=json_data.kind, name=json_data.name)
    return {"id": device.id, "token": token}
