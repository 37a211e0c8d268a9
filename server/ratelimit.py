"""Rate limits for the calls a flood could abuse: device registration and booking.

Counts live in each worker's memory (`limits`' moving window), so with W workers behind
a proxy a client gets at most W times the limit; the limits are set so that even that
stays harmless, and a real station or car never comes near them.
"""

from __future__ import annotations

import math
import threading
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from server.config import rate_limit_enabled
from server.errors import ApiError


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class RateLimit:
    """One named limit ("30/minute;5/second" or "off") over keys (a client, a device)."""

    def __init__(self, name: str, spec: str) -> None:
        self.name = name
        self.items: list[RateLimitItem] = parse_many(spec) if rate_limit_enabled(spec) else []
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one call by `key`; raise `RateLimited` (with Retry-After) past a limit."""
        if not self.items:
            return
        with self._lock:
            for item in self.items:
                if not self._limiter.test(item, self.name, key):
                    reset = self._limiter.get_window_stats(item, self.name, key).reset_time
                    retry_after = max(1, math.ceil(reset - time.time()))
                    raise RateLimited(
                        f"too many {self.name} requests (limit {item}); retry in {retry_after} s",
                        headers={"Retry-After": str(retry_after)},
                    )
            for item in self.items:
                self._limiter.hit(item, self.name, key)
