"""The station app factory: the visitor's screens, their JSON calls, and the stream relay.

Everything the browser needs comes from here; the station alone holds its device token
and the fleet key and talks to the fleet server.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import Babel

from station import operator
from station.citymap import CityMap, TripClock, trip_view
from station.config import LANGUAGES, StationConfig
from station.errors import StationError, install_error_handlers
from station.fleet import FleetApi, StationIdentity, register_station
from station.i18n import LANGUAGE_NAMES, TRANSLATIONS, best_language, catalogue
from station.proxy import relay_stream
from station.sessions import COOKIE, Session, SessionStore

log = logging.getLogger(__name__)

OPEN = ("assigned", "driving")


@dataclass
class Station:
    """What every request of this process shares."""

    config: StationConfig
    fleet: FleetApi
    sessions: SessionStore
    _city: CityMap | None = None
    _city_lock: threading.Lock = field(default_factory=threading.Lock)

    def city(self) -> CityMap:
        with self._city_lock:
            if self._city is None:
                self._city = CityMap(self.fleet.city())
            return self._city


def station() -> Station:
    from flask import current_app

    return current_app.extensions["station"]


def current_session() -> Session:
    return g.session


def create_app(config: StationConfig, *, identity: StationIdentity | None = None) -> Flask:
    """Build the app; registers the station with the fleet key unless `identity` is given."""
    app = Flask("pixelopolis-station", root_path=str(TRANSLATIONS.parent))
    app.config.update(JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=16 * 1024)
    identity = identity or register_station(config)
    app.extensions["station"] = Station(
        config=config,
        fleet=FleetApi(config, identity),
        sessions=SessionStore(config.session_ttl_s),
    )
    Babel(
        app,
        locale_selector=lambda: current_session().language or _browser_language(),
        default_translation_directories=str(TRANSLATIONS),
    )
    install_error_handlers(app)
    _install_security_headers(app)
    _install_sessions(app, config)
    app.register_blueprint(_visitor_routes())
    app.register_blueprint(operator.bp)
    return app


# The pages load only their own script, styles and images (the camera is relayed by this
# station), so the policy names no other origin, and no inline script or style runs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _install_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _browser_language() -> str:
    return best_language(None, request.accept_languages, station().config.default_language)


def _install_sessions(app: Flask, config: StationConfig) -> None:
    @app.before_request
    def _load() -> None:
        store = station().sessions
        session = store.get(request.cookies.get(COOKIE))
        g.new_session = session is None
        g.session = session or store.create()

    @app.after_request
    def _save(response: Response) -> Response:
        session = g.get("session")
        if session is not None and g.get("new_session"):
            response.set_cookie(
                COOKIE,
                session.id,
                max_age=int(config.session_ttl_s),
                httponly=True,
                samesite="Strict",
            )
        return response


def _visitor_routes() -> Any:
    from flask import Blueprint

    bp = Blueprint("visitor", __name__)

    @bp.get("/")
    def kiosk() -> str:
        session = current_session()
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            session.language = chosen
        language = session.language or _browser_language()
        return render_template(
            "kiosk.html",
            language=language,
            languages=LANGUAGE_NAMES,
            messages=catalogue(language),
            station_name=station().config.name,
        )

    @bp.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok", "station": station().fleet.identity.id})

    @bp.get("/i18n/<language>.json")
    def messages(language: str) -> Response:
        if language not in LANGUAGES:
            raise StationError(404, "unknown_language", f"no language {language!r}")
        response = jsonify({"language": language, "messages": catalogue(language)})
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    @bp.post("/api/lang")
    def set_language() -> Response:
        language = _json_field("lang")
        if language not in LANGUAGES:
            raise StationError(400, "invalid_request", f"lang: one of {', '.join(LANGUAGES)}")
        current_session().language = language
        return jsonify({"lang": language})

    @bp.get("/api/city")
    def city() -> Response:
        return jsonify(station().city().to_json())

    @bp.get("/api/places")
    def places() -> Response:
        return jsonify({"places": station().city().places()})

    @bp.get("/api/cars")
    def cars() -> Response:
        mine = current_session().booking_id
        shown = [
            {
                "id": c["id"],
                "name": c["name"],
                "state": c["state"],
                "node": c["node"],
                "online": c["online"],
                "service": c.get("service", "in_service"),
                "mine": bool(mine) and c.get("booking") == mine,
            }
            for c in station().fleet.cars()
        ]
        return jsonify({"cars": shown})

    @bp.post("/api/booking")
    def book() -> tuple[Response, int]:
        destination = _json_field("destination")
        if not isinstance(destination, str) or destination not in station().city().nodes:
            raise StationError(404, "unknown_node", f"unknown destination {destination!r}")
        session = current_session()
        with session.lock:
            if session.booking_id:
                current = station().fleet.booking(session.booking_id)
                if current["status"] in OPEN:
                    raise StationError(409, "booking_open", "this screen already has a trip")
            booking = station().fleet.book(destination)
            session.booking_id = booking["id"]
            session.car_name = _car_name(booking["car"])
            session.clock = TripClock(started=time.monotonic(), seen_passes=[])
            return jsonify(_trip(session, booking)), 201

    @bp.get("/api/booking")
    def my_booking() -> Response:
        session = current_session()
        return jsonify(_trip(session, station().fleet.booking(_booking_id(session))))

    @bp.post("/api/booking/cancel")
    def cancel() -> Response:
        session = current_session()
        return jsonify(_trip(session, station().fleet.cancel(_booking_id(session))))

    @bp.get("/api/booking/stream")
    def stream() -> Response:
        booking = station().fleet.booking(_booking_id(current_session()))
        if booking["status"] not in OPEN or not booking.get("stream_url"):
            raise StationError(409, "no_stream", "this trip has no live view now")
        return relay_stream(
            booking["stream_url"],
            booking.get("stream_token") or "",
            timeout_s=station().config.stream_timeout_s,
        )

    return bp


def _json_field(name: str) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or name not in body:
        raise StationError(400, "invalid_request", f"body: a JSON object with {name!r} expected")
    return body[name]


def _booking_id(session: Session) -> str:
    if not session.booking_id:
        raise StationError(404, "no_booking", "this screen has no trip")
    return session.booking_id


def _car_name(car_id: str) -> str | None:
    try:
        return next((c["name"] for c in station().fleet.cars() if c["id"] == car_id), None)
    except Exception:  # noqa: BLE001 - the name is a nicety; the id will do
        return None


def _trip(session: Session, booking: dict[str, Any]) -> dict[str, Any]:
    if session.clock is None:
        session.clock = TripClock(started=time.monotonic(), seen_passes=[])
    return trip_view(
        booking,
        station().city(),
        car_name=session.car_name,
        clock=session.clock,
        now=time.monotonic(),
        nominal_speed_mps=station().config.nominal_speed_mps,
    )
