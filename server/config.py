"""Typed, validated configuration of the fleet server."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


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

    def __post_init__(self) -> None:
        if not self.mongodb_uri.startswith(("mongodb://", "mongodb+srv://")):
            raise ConfigError("mongodb_uri: must start with mongodb:// or mongodb+srv://")
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


def env_float(name: str, default: float) -> float:
    """A float from the environment, or the default; a bad value names the variable."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: not a number: {raw!r}") from exc
