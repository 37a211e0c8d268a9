"""A test client speaking the fleet API contract, over Flask's test client or real HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient

from city import default_city
from server import ServerConfig

FLEET_KEY = "test-fleet-key-0123456789"


@dataclass
class Api:
    """A thin client over Flask's test client that speaks the documented contract."""

    client: FlaskClient

    def register(self, kind: str, name: str = "x") -> tuple[str, str]:
        r = self.client.post(
            "/api/v1/devices", json={"kind": kind, "name": name}, headers={"X-Fleet-Key": FLEET_KEY}
        )
        assert r.status_code == 201, r.json
        return r.json["id"], r.json["token"]

    def call(self, method: str, path: str, token: str | None = None, **kw: Any):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kw)

    def status(self, car: str, token: str, state: str = "ready", node: str | None = None, **kw):
        body = {"state": state, "node": node or first_node(), **kw}
        return self.call("PUT", f"/cars/{car}/status", token, json=body)

    def ready_car(self, node: str | None = None, name: str = "car") -> tuple[str, str]:
        car, token = self.register("car", name)
        r = self.status(car, token, "ready", node)
        assert r.status_code == 200, r.json
        return car, token

    def book(self, station_token: str, destination: str, key: str | None = None):
        headers = {"Idempotency-Key": key} if key is not None else {}
        return self.call(
            "POST", "/bookings", station_token, json={"destination": destination}, headers=headers
        )

    def cars(self, token: str):
        return self.call("GET", "/cars", token)

    def reserve(self, car_token: str, node: str):
        return self.call("POST", "/reservations", car_token, json={"node": node})

    def release(self, car_token: str, node: str):
        return self.call("DELETE", f"/reservations/{node}", car_token)

    def reservations(self, token: str):
        return self.call("GET", "/reservations", token)


def first_node() -> str:
    return sorted(default_city().nodes)[0]


def make_config(uri: str, db_name: str, **kw: Any) -> ServerConfig:
    return ServerConfig(mongodb_uri=uri, fleet_key=FLEET_KEY, database=db_name, **kw)
