"""Station errors and the one place they become JSON: `{"error": {"code", "message"}}`."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from station.fleet import FleetError

log = logging.getLogger(__name__)


class StationError(Exception):
    """An error with an HTTP status and a stable code, answered as JSON."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(StationError)
    def _station(exc: StationError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(FleetError)
    def _fleet(exc: FleetError) -> Response:
        # The fleet server's own 4xx (no car free, unknown node, closed booking) pass through;
        # anything else means the city is out of reach from here.
        if 400 <= exc.status < 500 and exc.status not in (401, 403):
            return error_response(exc.status, exc.code, exc.message)
        log.warning("fleet server: %s", exc)
        return error_response(503, "fleet_unavailable", "the fleet server is not available")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        codes = {
            400: "invalid_request",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            429: "rate_limited",
        }
        return error_response(status, codes.get(status, "http_error"), exc.description or "")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal error")
