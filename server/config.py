"""Typed, validated configuration of the fleet server."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from limits import parse_many

from server.db import DatabaseUriError, is_replica_set


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field."""


@dataclass(frozen=True)
class ServerConfig:
    """Everything one server worker needs; the same object configures every worker.

    `mongodb_uri` is required here: the command line fills it from `--db`, `MONGODB_URI`
    or the embedded database it starts.
    """

    mongodb_uri: str
    fleet_key: str
    database: str = "pixelopolis"
    city_path: Path | None = None
    liveness_timeout_s: float = 3.0
    # How long a node reservation lasts unless its car renews it.
    reservation_lease_s: float = 10.0
    max_wait_s: float = 30.0
    poll_interval_s: float = 0.1
    reaper_interval_s: float = 1.0
    db_timeout_ms: int = 2000
    # Rate limits ("N/second|minute|hour", several joined by ";"; "off" for none), kept
    # in each worker's memory: device registration per client address, bookings per station.
    register_limit: str = "120/minute"
    booking_limit: str = "30/minute;5/second"
    # Reverse proxies in front of the server whose X-Forwarded-For is trusted (0: none).
    trusted_proxies: int = 0
    # How long a worker trusts a token it looked up; a revocation reaches every worker
    # within this time (and the worker that revoked it at once).
    token_cache_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.mongodb_uri.startswith(("mongodb://", "mongodb+srv://")):
            raise ConfigError("mongodb_uri: must start with mongodb:// or mongodb+srv://")
        try:
            is_replica_set(self.mongodb_uri)
        except DatabaseUriError as exc:
            raise ConfigError(str(exc)) from exc
        if len(self.fleet_key) < 8:
            raise ConfigError("fleet_key: must be at least 8 characters")
        if not self.database or any(c in self.database for c in '/\\. "$'):
            raise ConfigError(f"database: invalid database name {self.database!r}")
        if self.city_path is not None and not Path(self.city_path).is_file():
            raise ConfigError(f"city_path: no such file {str(self.city_path)!r}")
        for name in (
            "liveness_timeout_s",
            "reservation_lease_s",
            "max_wait_s",
            "poll_interval_s",
            "reaper_interval_s",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{name}: must be a positive number, got {value!r}")
        if self.db_timeout_ms <= 0:
            raise ConfigError("db_timeout_ms: must be positive")
        for name in ("register_limit", "booking_limit"):
            check_rate_limit(name, getattr(self, name))
        if not isinstance(self.trusted_proxies, int) or not 0 <= self.trusted_proxies <= 8:
            raise ConfigError(f"trusted_proxies: must be 0-8, got {self.trusted_proxies!r}")
        if not isinstance(self.token_cache_s, int | float) or not 0 <= self.token_cache_s <= 60:
            raise ConfigError(f"token_cache_s: must be 0-60 seconds, got {self.token_cache_s!r}")


def rate_limit_enabled(value: str) -> bool:
    return value.strip().lower() not in ("off", "none", "0", "")


def check_rate_limit(name: str, value: str) -> None:
    """`value` is "off" or limits in the `limits` notation ("30/minute;5/second")."""
    if not isinstance(value, str):
        raise ConfigError(f"{name}: must be a string like '30/minute' or 'off'")
    if not rate_limit_enabled(value):
        return
    try:
        parse_many(value)
    except ValueError as exc:
        raise ConfigError(
            f"{name}: {value!r} is not a rate limit (e.g. '30/minute;5/second' or 'off')"
        ) from exc


def env_float(name: str, default: float) -> float:
    """A float from the environment, or the default; a bad value names the variable."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: not a number: {raw!r}") from exc


def env_int(name: str, default: int) -> int:
    """An integer from the environment, or the default; a bad value names the variable."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: not an integer: {raw!r}") from exc
