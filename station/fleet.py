"""The station's side of the fleet API. The device token lives here, never in a browser."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests

from station.config import StationConfig

log = logging.getLogger(__name__)

# Pause before a booking whose answer was lost is sent again with the same key.
BOOKING_RETRY_PAUSE_S = 0.5


class FleetError(Exception):
    """The fleet server refused a call (`status`, its error `code` and `message`)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class FleetUnreachableError(FleetError):
    """No answer from the fleet server."""

    def __init__(self, message: str) -> None:
        super().__init__(503, "fleet_unreachable", message)


@dataclass(frozen=True)
class StationIdentity:
    """The station's device id and bearer token, as `POST /devices` returned them."""

    id: str
    token: str


def _error_from(response: requests.Response) -> FleetError:
    code, message = f"http_{response.status_code}", response.reason or "error"
    try:
        detail = response.json().get("error", {})
        code, message = str(detail.get("code", code)), str(detail.get("message", message))
    except (ValueError, AttributeError):
        pass
    return FleetError(response.status_code, code, message)


def register_station(config: StationConfig) -> StationIdentity:
    """Register this station with the fleet key; raises FleetError when refused."""
    try:
        response = requests.post(
            f"{config.api_base}/devices",
            json={"kind": "station", "name": config.name},
            headers={"X-Fleet-Key": config.fleet_key},
            timeout=config.request_timeout_s,
        )
    except requests.RequestException as exc:
        raise FleetUnreachableError(f"fleet server at {config.api_base}: {exc}") from exc
    if response.status_code != 201:
        raise _error_from(response)
    body = response.json()
    log.info("registered as station %s", body["id"])
    return StationIdentity(id=body["id"], token=body["token"])


class FleetApi:
    """Calls the station makes, with its bearer token or (operator calls) the fleet key.

    One `requests.Session` per thread: the app serves many requests at once.
    """

    def __init__(self, config: StationConfig, identity: StationIdentity) -> None:
        self.config = config
        self.identity = identity
        self._local = threading.local()
        self._cars_lock = threading.Lock()
        self._cars: tuple[float, list[dict[str, Any]]] | None = None
        self._city: dict[str, Any] | None = None

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _call(
        self, method: str, path: str, *, operator: bool = False, ok: int = 200, **kw: Any
    ) -> Any:
        headers = kw.pop("headers", {})
        if operator:
            headers["X-Fleet-Key"] = self.config.fleet_key
        else:
            headers["Authorization"] = f"Bearer {self.identity.token}"
        try:
            response = self._session().request(
                method,
                f"{self.config.api_base}{path}",
                headers=headers,
                timeout=self.config.request_timeout_s,
                **kw,
            )
        except requests.RequestException as exc:
            raise FleetUnreachableError(f"fleet server: {type(exc).__name__}") from exc
        if response.status_code != ok:
            raise _error_from(response)
        return response.json()

    # -- visitors ----------------------------------------------------------------------

    def city(self) -> dict[str, Any]:
        """The city file (it never changes while the server runs, so it is kept)."""
        if self._city is None:
            self._city = self._call("GET", "/city")
        return self._city

    def cars(self, *, fresh: bool = False) -> list[dict[str, Any]]:
        """The car list, shared between browsers for `cars_cache_s` unless `fresh`."""
        now = time.monotonic()
        with self._cars_lock:
            cached = self._cars
            if not fresh and cached is not None and now - cached[0] < self.config.cars_cache_s:
                return cached[1]
        cars = self._call("GET", "/cars")["cars"]
        with self._cars_lock:
            self._cars = (time.monotonic(), cars)
        return cars

    def book(self, destination: str) -> dict[str, Any]:
        """Book a trip. The request carries a fresh `Idempotency-Key`, so when its answer is
        lost (no answer, or a 503) it is sent once more with the same key: the server hands
        back the booking it already made instead of sending a second car."""
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        body = {"destination": destination}
        try:
            booking = self._call("POST", "/bookings", ok=201, json=body, headers=dict(headers))
        except FleetError as exc:
            if exc.status != 503:
                raise
            log.warning("booking to %s got no answer (%s); retrying with its key", destination, exc)
            time.sleep(BOOKING_RETRY_PAUSE_S)
            booking = self._call("POST", "/bookings", ok=201, json=body, headers=dict(headers))
        with self._cars_lock:
            self._cars = None  # the booked car changed
        return booking

    def booking(self, booking_id: str) -> dict[str, Any]:
        return self._call("GET", f"/bookings/{booking_id}")

    def cancel(self, booking_id: str) -> dict[str, Any]:
        return self._call("POST", f"/bookings/{booking_id}/cancel")

    # -- operators ---------------------------------------------------------------------

    def bookings(self, *, open_only: bool = False, limit: int = 50) -> list[dict[str, Any]]:
        params = {"open": "true" if open_only else "false", "limit": limit}
        return self._call("GET", "/bookings", operator=True, params=params)["bookings"]

    def set_service(self, car_id: str, service: str) -> dict[str, Any]:
        car = self._call("PUT", f"/cars/{car_id}/service", operator=True, json={"service": service})
        with self._cars_lock:
            self._cars = None
        return car
