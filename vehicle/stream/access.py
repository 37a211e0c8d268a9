"""Who may watch: the current booking's stream token, plus an optional operator token."""

from __future__ import annotations

import hmac
import threading


class StreamAccess:
    """A thread-safe token check to pass as `StreamServer(authorize=...)`.

    The runtime calls `set_booking_token` when the server hands the car a booking (and
    with None when the trip ends); the station of that booking receives the same token.
    Comparison is constant-time.
    """

    def __init__(self, *, operator_token: str | None = None) -> None:
        if operator_token is not None and not operator_token:
            raise ValueError("operator_token: must be None or a non-empty string")
        self._lock = threading.Lock()
        self._operator = operator_token.encode() if operator_token else None
        self._booking: bytes | None = None

    def set_booking_token(self, token: str | None) -> None:
        if token is not None and not token:
            raise ValueError("token: must be None or a non-empty string")
        with self._lock:
            self._booking = token.encode() if token else None

    def __call__(self, token: str | None) -> bool:
        if not token:
            return False
        given = token.encode()
        with self._lock:
            accepted = [t for t in (self._booking, self._operator) if t is not None]
        # Compare against every accepted token so timing does not reveal which one matched.
        matches = [hmac.compare_digest(given, t) for t in accepted]
        return any(matches)
