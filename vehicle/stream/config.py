"""Configuration of the car's MJPEG stream."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class StreamConfig:
    """Where the stream listens, how it encodes, and how it treats viewers.

    Invalid values fail here, at construction, with a message naming the field.
    """

    host: str = "0.0.0.0"
    port: int = 8080  # 0 => the OS picks a free port (tests, several cars on one machine)
    jpeg_quality: int = 70
    max_fps: float = 15.0  # frames published faster than this are skipped, never encoded
    send_timeout_s: float = 5.0  # a viewer whose socket blocks this long is dropped
    max_viewers: int = 32
    # Kernel send buffer per viewer: bounds how many stale frames can queue for a slow viewer
    # (smaller: a slow viewer skips frames sooner instead of lagging). 0 => the OS default.
    send_buffer_bytes: int = 128 * 1024
    # Host written into `url`; None => `host`, or 127.0.0.1 when `host` is a wildcard address.
    advertise_host: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise ValueError("host: must be a non-empty string (e.g. '0.0.0.0' or '127.0.0.1')")
        if not _is_int(self.port) or not 0 <= self.port <= 65535:
            raise ValueError(f"port: must be an integer in 0..65535, got {self.port!r}")
        if not _is_int(self.jpeg_quality) or not 1 <= self.jpeg_quality <= 100:
            raise ValueError(
                f"jpeg_quality: must be an integer in 1..100, got {self.jpeg_quality!r}"
            )
        if not _is_positive_finite(self.max_fps):
            raise ValueError(f"max_fps: must be a positive number, got {self.max_fps!r}")
        if not _is_positive_finite(self.send_timeout_s):
            raise ValueError(
                f"send_timeout_s: must be a positive number, got {self.send_timeout_s!r}"
            )
        if not _is_int(self.max_viewers) or self.max_viewers < 1:
            raise ValueError(f"max_viewers: must be an integer >= 1, got {self.max_viewers!r}")
        if not _is_int(self.send_buffer_bytes) or self.send_buffer_bytes < 0:
            raise ValueError(
                f"send_buffer_bytes: must be an integer >= 0, got {self.send_buffer_bytes!r}"
            )
        if self.advertise_host is not None and (
            not isinstance(self.advertise_host, str) or not self.advertise_host
        ):
            raise ValueError("advertise_host: must be None or a non-empty host name")

    @property
    def min_frame_interval_s(self) -> float:
        return 1.0 / self.max_fps


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_positive_finite(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
