"""The operator page, behind the fleet key: cars, bookings, pause / out of service."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request
from flask.blueprints import BlueprintSetupState
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from station.errors import StationError
from station.proxy import relay_stream

bp = Blueprint("operator", __name__, url_prefix="/operator")
SERVICES = ("in_service", "paused", "out_of_service")
# Fleet-key guesses from one address (a visitor on the station's network) are slowed to this.
LOGIN_LIMIT = parse("10/minute")


def _station():  # noqa: ANN202 - the app's Station (avoids an import cycle)
    return current_app.extensions["station"]


def _require_operator() -> None:
    if not g.session.operator:
        raise StationError(401, "operator_login_required", "log in with the fleet key first")


@bp.get("")
def page() -> str:
    if not g.session.operator:
        return render_template("operator_login.html", failed=False)
    return render_template("operator.html", station_name=_station().config.name)


@bp.record_once
def _init_login_limiter(state: BlueprintSetupState) -> None:
    state.app.extensions["operator_login_limiter"] = MovingWindowRateLimiter(MemoryStorage())


def _login_limiter() -> MovingWindowRateLimiter:
    return current_app.extensions["operator_login_limiter"]


@bp.post("/login")
def login() -> Response | tuple[str, int]:
    if not _login_limiter().hit(LOGIN_LIMIT, "operator-login", request.remote_addr or "-"):
        raise StationError(429, "rate_limited", "too many login attempts; wait a minute")
    given = request.form.get("key", "")
    expected = _station().config.fleet_key
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return render_template("operator_login.html", failed=True), 401
    g.session.operator = True
    return redirect("/operator", code=303)


@bp.post("/logout")
def logout() -> Response:
    g.session.operator = False
    return redirect("/operator", code=303)


@bp.get("/api/state")
def state() -> Response:
    _require_operator()
    fleet = _station().fleet
    cars = fleet.cars(fresh=True)
    bookings = [
        {k: v for k, v in b.items() if k != "stream_token"} | {"stream": bool(b["stream_token"])}
        for b in fleet.bookings(limit=30)
    ]
    return jsonify({"cars": cars, "bookings": bookings})


@bp.post("/api/cars/<car_id>/service")
def set_service(car_id: str) -> Response:
    _require_operator()
    body = request.get_json(silent=True) or {}
    service = body.get("service")
    if service not in SERVICES:
        raise StationError(400, "invalid_request", f"service: one of {', '.join(SERVICES)}")
    return jsonify(_station().fleet.set_service(car_id, service))


@bp.get("/stream/<car_id>")
def stream(car_id: str) -> Response:
    _require_operator()
    open_bookings = _station().fleet.bookings(open_only=True, limit=500)
    booking = next((b for b in open_bookings if b["car"] == car_id), None)
    if booking is None or not booking.get("stream_url"):
        raise StationError(409, "no_stream", "this car's camera is watchable during a trip only")
    return relay_stream(
        booking["stream_url"],
        booking.get("stream_token") or "",
        timeout_s=_station().config.stream_timeout_s,
    )
