"""Typed, validated configuration of one station."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

LANGUAGES = ("en", "th", "ja", "es")


class StationConfigError(ValueError):
    """A configuration value is invalid; the message starts with the field's name."""


@dataclass(frozen=True)
class StationConfig:
    """Where the fleet server is, who this station is, and how it serves its screens.

    `server_url` is the fleet server's root (`http://host:8000`) or its API root
    (`…/api/v1`). The fleet key stays in this process: no page or JSON answer carries it.
    """

    server_url: str = "http://127.0.0.1:8000"
    fleet_key: str = ""
    name: str = "station"
    host: str = "127.0.0.1"
    port: int = 8100
    threads: int = 32
    # How long the car list is reused between browsers' polls (protects the fleet server).
    cars_cache_s: float = 0.5
    # Speed assumed for the ETA until the car's own pace is measured (m/s, miniature scale).
    nominal_speed_mps: float = 0.25
    request_timeout_s: float = 5.0
    # Seconds without news from the car's stream before the station's proxy gives up.
    stream_timeout_s: float = 20.0
    session_ttl_s: float = 12 * 3600.0
    default_language: str = "en"

    def __post_init__(self) -> None:
        parts = urlsplit(self.server_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise StationConfigError(f"server_url: must be an http(s) URL, got {self.server_url!r}")
        if len(self.fleet_key) < 8:
            raise StationConfigError("fleet_key: must be at least 8 characters")
        if not self.name.strip() or len(self.name) > 64:
            raise StationConfigError(f"name: must be 1..64 characters, got {self.name!r}")
        if not 0 <= self.port < 65536:
            raise StationConfigError(f"port: must be 0-65535, got {self.port}")
        if not 1 <= self.threads <= 512:
            raise StationConfigError(f"threads: must be 1-512, got {self.threads}")
        for field in (
            "cars_cache_s",
            "nominal_speed_mps",
            "request_timeout_s",
            "stream_timeout_s",
            "session_ttl_s",
        ):
            value = getattr(self, field)
            if not isinstance(value, int | float) or value <= 0:
                raise StationConfigError(f"{field}: must be a positive number, got {value!r}")
        if self.default_language not in LANGUAGES:
            raise StationConfigError(
                f"default_language: must be one of {', '.join(LANGUAGES)}, "
                f"got {self.default_language!r}"
            )

    @property
    def api_base(self) -> str:
        base = self.server_url.rstrip("/")
        return base if base.endswith("/api/v1") else base + "/api/v1"
