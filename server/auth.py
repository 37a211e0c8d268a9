"""Device registration and bearer tokens (stored hashed, checked on every call)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import current_app, g, request
from pymongo.database import Database

from server.errors import Forbidden, Unauthorized


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


class TokenCache:
    """Token hash → device, per worker. Devices never change, so entries never go stale."""

    def __init__(self, max_entries: int = 10_000):
        self._entries: dict[str, Device] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def lookup(self, db: Database, token: str) -> Device | None:
        key = hash_token(token)
        with self._lock:
            device = self._entries.get(key)
        if device is not None:
            return device
        doc = db.devices.find_one({"token_hash": key}, {"kind": 1, "name": 1})
        if doc is None:
            return None
        device = Device(id=doc["_id"], kind=doc["kind"], name=doc["name"])
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key] = device
        return device


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
