"""The Flask app factory: one app per worker process, all shared state in MongoDB."""

from __future__ import annotations

import logging
import threading
from importlib.metadata import PackageNotFoundError, version

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import Response, request
from pymongo.database import Database
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from city import City, default_city, load_city
from server.api import bookings, cars, devices, health, operator, reservations
from server.api import city as city_api
from server.api.common import Services
from server.auth import TokenCache
from server.config import ServerConfig
from server.db import connect, ensure_indexes
from server.errors import JsonRequest, error_response, install_error_handlers
from server.fleet import Fleet
from server.ratelimit import RateLimit
from server.reservations import Reservations
from server.waiters import AssignmentWaiters

log = logging.getLogger(__name__)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}


def _version() -> str:
    try:
        return version("pixelopolis")
    except PackageNotFoundError:
        return "0+unknown"


def create_app(config: ServerConfig, *, start_reaper: bool = True) -> APIFlask:
    """Build one worker's app. `start_reaper` runs the liveness sweep in a daemon thread."""
    app = APIFlask(
        "pixelopolis-server",
        title="Pixelopolis fleet API",
        version="1",
        spec_path="/api/v1/openapi.json",
        docs_path="/api/v1/docs",
        json_errors=False,
    )
    app.config.update(
        HTTP_ERROR_SCHEMA=ERROR_SCHEMA,
        VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA,
        VALIDATION_ERROR_STATUS_CODE=400,
        MAX_CONTENT_LENGTH=64 * 1024,
        SPEC_FORMAT="json",
        SYNC_LOCAL_SPEC=False,
        DOCS_FAVICON=None,
    )
    app.request_class = JsonRequest
    app.security_schemes = {
        "BearerAuth": {"type": "http", "scheme": "bearer"},
        "FleetKey": {"type": "apiKey", "in": "header", "name": "X-Fleet-Key"},
    }

    city: City = load_city(config.city_path) if config.city_path else default_city()
    db = connect(config.mongodb_uri, config.database, timeout_ms=config.db_timeout_ms)
    indexes_ready = _try_ensure_indexes(db)
    fleet = Fleet(db=db, city=city, liveness_timeout_s=config.liveness_timeout_s)
    node_reservations = Reservations(fleet, lease_s=config.reservation_lease_s)
    app.extensions["pixelopolis"] = Services(
        config=config,
        db=db,
        city=city,
        fleet=fleet,
        reservations=node_reservations,
        tokens=TokenCache(ttl_s=config.token_cache_s),
        waiters=AssignmentWaiters(fleet.assignments, interval_s=config.poll_interval_s),
        city_document=city.to_dict(),
        version=_version(),
        register_limit=RateLimit("registration", config.register_limit),
        booking_limit=RateLimit("booking", config.booking_limit),
    )
    if config.trusted_proxies:
        # Behind N reverse proxies the client's address is the Nth from the right in
        # X-Forwarded-For; rate limits per client depend on it.
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    _install_request_guards(app)

    @app.error_processor
    def _validation_error(error: HTTPError):  # noqa: ANN202 - apiflask callback
        message = error.message or "invalid request"
        detail = error.detail or {}
        if detail:
            parts = [
                f"{'body' if field == '_schema' else field}: {'; '.join(msgs)}"
                for location in detail.values()
                if isinstance(location, dict)
                for field, msgs in location.items()
            ]
            if parts:
                message = "; ".join(parts)
        code = "invalid_request" if error.status_code in (400, 422) else "http_error"
        return error_response(error.status_code, code, message, details=detail)

    install_error_handlers(app)
    blueprints = (
        devices.bp,
        city_api.bp,
        cars.bp,
        bookings.bp,
        reservations.bp,
        operator.bp,
        health.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    if start_reaper:
        _start_reaper(
            fleet, node_reservations, config.reaper_interval_s, indexes_ready=indexes_ready
        )
    return app


# Answers carry tokens (registration) and booking details: never cached, never sniffed.
API_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _install_request_guards(app: APIFlask) -> None:
    @app.before_request
    def _limit_unsized_bodies() -> None:
        # A chunked body has no Content-Length for Werkzeug to check up front; it is read
        # only up to MAX_CONTENT_LENGTH, so a body that fills the limit is too large (a
        # truncated body would otherwise look like malformed JSON).
        if request.content_length is None and request.environ.get("wsgi.input_terminated"):
            limit = app.config["MAX_CONTENT_LENGTH"]
            if len(request.get_data(cache=True)) >= limit:
                raise RequestEntityTooLarge(f"request body over {limit} bytes")

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in API_HEADERS.items():
            if name == "Cache-Control" and request.path.endswith("/openapi.json"):
                continue
            response.headers.setdefault(name, value)
        return response


def _try_ensure_indexes(db: Database, *, quiet: bool = False) -> bool:
    try:
        ensure_indexes(db)
    except Exception as exc:  # noqa: BLE001 - the server still starts and answers 503
        if not quiet:
            log.warning("database not reachable (%s); serving 503 until it is", type(exc).__name__)
        return False
    return True


def _start_reaper(
    fleet: Fleet, node_reservations: Reservations, interval_s: float, *, indexes_ready: bool
) -> threading.Thread:
    """Sweep silent cars, orphaned claims and invalid node reservations; every worker runs
    one (the sweep is idempotent).

    If the database was down at start, the indexes are created as soon as it answers.
    """

    def loop() -> None:
        ready = indexes_ready
        while True:
            try:
                ready = ready or _try_ensure_indexes(fleet.db, quiet=True)
                fleet.fail_silent_cars()
                fleet.repair_orphan_claims()
                node_reservations.sweep()
            except Exception as exc:  # noqa: BLE001 - database down: try again next round
                log.debug("liveness sweep skipped: %s", type(exc).__name__)
            threading.Event().wait(interval_s)

    thread = threading.Thread(target=loop, name="liveness-sweep", daemon=True)
    thread.start()
    return thread
