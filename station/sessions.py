"""Server-side sessions: the browser holds only an opaque random id in a cookie.

A session remembers the visitor's language and booking, and whether an operator logged
in. They live in this process's memory (the station runs one worker process with many
threads), so a restart logs operators out and forgets visitors' trips.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from station.citymap import TripClock

COOKIE = "pixelopolis_station"


@dataclass
class Session:
    id: str
    last_used: float
    language: str | None = None
    booking_id: str | None = None
    car_name: str | None = None
    clock: TripClock | None = None
    operator: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class SessionStore:
    """Sessions by id, expiring `ttl_s` after their last use; safe from any thread."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl = ttl_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            session = self._sessions.get(session_id or "")
            if session is not None:
                session.last_used = now
            return session

    def create(self) -> Session:
        now = time.monotonic()
        session = Session(id=secrets.token_urlsafe(24), last_used=now)
        with self._lock:
            self._expire(now)
            self._sessions[session.id] = session
        return session

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def _expire(self, now: float) -> None:
        stale = [k for k, s in self._sessions.items() if now - s.last_used > self._ttl]
        for key in stale:
            del self._sessions[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
