"""Device registration and bearer tokens (stored hashed, checked on every call, revocable)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import current_app, g, request
from pymongo.database import Database

from server.errors import Forbidden, NotFound, Unauthorized


@dataclass(frozen=True)
class Device:
    id: str
    kind: str
    name: str


def hash_token(token: str) -> str:
    """Tokens are 256-bit random strings, so a plain SHA-256 is a safe one-way store."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_fleet_key(given: str | None, expected: str) -> None:
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("missing or wrong X-Fleet-Key", code="bad_fleet_key")


def register_device(db: Database, *, kind: str, name: str) -> tuple[Device, str]:
    """Create a device (and its car record) and return it with its one-time token."""
    device = Device(id=f"{kind}-{secrets.token_hex(6)}", kind=kind, name=name)
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    if kind == "car":
        db.cars.insert_one(
            {
                "_id": device.id,
                "name": name,
                "state": "offline",
                "node": None,
                "battery_v": None,
                "stream_url": None,
                "last_seen": None,
                "booking": None,
            }
        )
    db.devices.insert_one(
        {
            "_id": device.id,
            "kind": kind,
            "name": name,
            "token_hash": hash_token(token),
            "created_at": now,
        }
    )
    return device, token


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def device_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A device as operators see it (never its token hash)."""
    return {
        "id": doc["_id"],
        "kind": doc["kind"],
        "name": doc["name"],
        "created_at": _iso(doc.get("created_at")),
        "revoked": doc.get("revoked_at") is not None,
        "revoked_at": _iso(doc.get("revoked_at")),
    }


def list_devices(db: Database) -> list[dict[str, Any]]:
    docs = db.devices.find({}, {"token_hash": 0}).sort("_id", 1)
    return [device_view(doc) for doc in docs]


def revoke_device(db: Database, device_id: str) -> dict[str, Any]:
    """Revoke a device's token for good (the first revocation time is kept).

    The hash stays in place (the unique index allows one null only), marked revoked; the
    device must register again, with the fleet key, to get a new id and token.
    """
    db.devices.update_one(
        {"_id": device_id, "revoked_at": None}, {"$set": {"revoked_at": datetime.now(UTC)}}
    )
    doc = db.devices.find_one({"_id": device_id}, {"token_hash": 0})
    if doc is None:
        raise NotFound(f"no device {device_id!r}")
    return device_view(doc)


class TokenCache:
    """Token hash → device, per worker, each entry trusted for `ttl_s` seconds.

    A revoked token stops working at once on the worker that revoked it (`forget`) and
    within `ttl_s` on every other worker; `ttl_s=0` asks the database on every call.
    """

    def __init__(self, max_entries: int = 10_000, *, ttl_s: float = 2.0):
        self._entries: dict[str, tuple[Device, float]] = {}
        self._lock = threading.Lock()
        self._max = max_entries
        self._ttl = ttl_s

    def lookup(self, db: Database, token: str) -> Device | None:
        key = hash_token(token)
        t = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and t - entry[1] < self._ttl:
            return entry[0]
        doc = db.devices.find_one({"token_hash": key}, {"kind": 1, "name": 1, "revoked_at": 1})
        if doc is None or doc.get("revoked_at") is not None:
            with self._lock:
                self._entries.pop(key, None)
            return None
        device = Device(id=doc["_id"], kind=doc["kind"], name=doc["name"])
        if self._ttl > 0:
            with self._lock:
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[key] = (device, t)
        return device

    def forget(self, device_id: str) -> None:
        with self._lock:
            for key in [k for k, (d, _) in self._entries.items() if d.id == device_id]:
                del self._entries[key]


def current_device() -> Device:
    return g.device


def authenticate(*kinds: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require a bearer token of a device of one of `kinds` (any kind when empty)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
            ext = current_app.extensions["pixelopolis"]
            device = ext.tokens.lookup(ext.db, token.strip())
            if device is None:
                raise Unauthorized("unknown or revoked token", code="bad_token")
            if kinds and device.kind not in kinds:
                raise Forbidden(f"a {device.kind} may not do this", code="wrong_device_kind")
            g.device = device
            return view(*args, **kwargs)

        return wrapper

    return decorator
