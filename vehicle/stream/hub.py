"""The latest-frame slot between the car loop, one encoder thread and the viewers.

Ownership: the car loop owns `publish` (a rate check, a copy and a slot swap under the
lock, nothing else); the encoder thread, started by `start`, owns the JPEG encoder and is
the only place a frame is encoded; viewer threads only read the finished part. Every
field below `_lock` is guarded by it. Two conditions share that lock so that a publish
wakes only the encoder, and a finished encode wakes only the viewers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import cv2
import numpy as np

log = logging.getLogger(__name__)

BOUNDARY = "frame"


class HubClosed(Exception):
    """The hub was closed: the stream is stopping."""


class TooManyViewers(Exception):
    """Every viewer slot is taken."""


class FrameHub:
    """Keeps the newest kept frame, encodes it once, and hands the same bytes to every viewer."""

    def __init__(
        self,
        *,
        jpeg_quality: int,
        max_fps: float,
        max_viewers: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._quality = [int(cv2.IMWRITE_JPEG_QUALITY), int(jpeg_quality)]
        self._interval = 1.0 / max_fps
        self._max_viewers = max_viewers
        self._clock = clock
        self._lock = threading.Lock()
        self._frame_ready = threading.Condition(self._lock)  # encoder waits here
        self._jpeg_ready = threading.Condition(self._lock)  # viewers and snapshots wait here
        self._raw: np.ndarray | None = None
        self._raw_seq = 0
        self._attempted_seq = 0  # newest sequence the encoder has tried (ok or failed)
        self._jpeg: bytes | None = None
        self._part: bytes | None = None  # the multipart part, built once per encode
        self._jpeg_seq = 0
        self._next_due = float("-inf")
        self._viewers = 0
        self._snapshot_waiters = 0
        self._kept = 0
        self._skipped = 0
        self._encoded = 0
        self._closed = False
        self._encoder: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._closed:
                raise HubClosed("the stream was stopped")
            if self._encoder is not None:
                return
            self._encoder = threading.Thread(
                target=self._encode_loop, name="stream-encoder", daemon=True
            )
        self._encoder.start()

    def close(self, timeout: float = 2.0) -> None:
        """Wake and end the encoder and every viewer; idempotent."""
        with self._lock:
            self._closed = True
            self._frame_ready.notify_all()
            self._jpeg_ready.notify_all()
            encoder = self._encoder
        if encoder is not None and encoder is not threading.current_thread():
            encoder.join(timeout)

    def wait_no_viewers(self, timeout: float) -> bool:
        with self._lock:
            return self._jpeg_ready.wait_for(lambda: self._viewers == 0, timeout)

    # -- the car loop's side ---------------------------------------------------------------

    def publish(self, frame_bgr: np.ndarray) -> bool:
        """Offer a frame; returns whether it was kept (False: over max_fps, or closed)."""
        if not isinstance(frame_bgr, np.ndarray) or frame_bgr.dtype != np.uint8:
            raise TypeError("frame_bgr: expected a uint8 numpy array")
        if frame_bgr.ndim not in (2, 3) or (frame_bgr.ndim == 3 and frame_bgr.shape[2] != 3):
            raise ValueError(f"frame_bgr: expected shape (h, w, 3) or (h, w): {frame_bgr.shape}")
        now = self._clock()
        with self._lock:
            if self._closed:
                return False
            if now < self._next_due:
                self._skipped += 1
                return False
            # Keep the schedule when slightly late (so jitter does not lower the rate), but
            # never bank credit for a burst after a pause.
            if now - self._next_due < self._interval:
                self._next_due += self._interval
            else:
                self._next_due = now + self._interval
        copy = frame_bgr.copy()  # the caller reuses its buffer; outside the lock
        with self._lock:
            self._raw = copy
            self._raw_seq += 1
            self._kept += 1
            if self._viewers or self._snapshot_waiters:
                self._frame_ready.notify()
        return True

    # -- the viewers' side -----------------------------------------------------------------

    @contextmanager
    def viewer(self) -> Iterator[Viewer]:
        """Hold a viewer slot for the duration of the block (raises TooManyViewers, HubClosed)."""
        with self._lock:
            if self._closed:
                raise HubClosed("the stream was stopped")
            if self._viewers >= self._max_viewers:
                raise TooManyViewers(f"all {self._max_viewers} viewer slots are taken")
            self._viewers += 1
            min_seq = self._raw_seq  # start from the newest frame, not an old encode
            self._frame_ready.notify()
        try:
            yield Viewer(self, min_seq)
        finally:
            with self._lock:
                self._viewers -= 1
                self._jpeg_ready.notify_all()

    def _next_part(self, after_seq: int, min_seq: int) -> tuple[int, bytes] | None:
        with self._lock:
            self._jpeg_ready.wait_for(
                lambda: self._closed or (self._jpeg_seq > after_seq and self._jpeg_seq >= min_seq)
            )
            if self._closed or self._part is None:
                return None
            return self._jpeg_seq, self._part

    def snapshot(self, timeout: float) -> bytes | None:
        """The JPEG of the newest kept frame (encoded now if no viewer made it); None if none."""
        with self._lock:
            target = self._raw_seq
            if target == 0 or self._closed:
                return None
            if self._attempted_seq < target:
                self._snapshot_waiters += 1
                self._frame_ready.notify()
                try:
                    self._jpeg_ready.wait_for(
                        lambda: self._closed or self._attempted_seq >= target, timeout
                    )
                finally:
                    self._snapshot_waiters -= 1
            return self._jpeg

    # -- counters --------------------------------------------------------------------------

    @property
    def viewers(self) -> int:
        with self._lock:
            return self._viewers

    @property
    def kept_frames(self) -> int:
        with self._lock:
            return self._kept

    @property
    def skipped_frames(self) -> int:
        with self._lock:
            return self._skipped

    @property
    def encoded_frames(self) -> int:
        with self._lock:
            return self._encoded

    # -- the encoder thread ----------------------------------------------------------------

    def _wanted(self) -> bool:
        return self._raw_seq > self._attempted_seq and (
            self._viewers > 0 or self._snapshot_waiters > 0
        )

    def _encode_loop(self) -> None:
        while True:
            with self._lock:
                self._frame_ready.wait_for(lambda: self._closed or self._wanted())
                if self._closed:
                    return
                frame, seq = self._raw, self._raw_seq
            jpeg = self._encode(frame)
            with self._lock:
                self._attempted_seq = seq
                if jpeg is not None:
                    self._jpeg = jpeg
                    self._part = _multipart_part(jpeg)
                    self._jpeg_seq = seq
                    self._encoded += 1
                self._jpeg_ready.notify_all()

    def _encode(self, frame: np.ndarray | None) -> bytes | None:
        if frame is None:
            return None
        try:
            ok, buf = cv2.imencode(".jpg", frame, self._quality)
        except cv2.error:
            log.exception("JPEG encoding failed for a %s frame", frame.shape)
            return None
        if not ok:
            log.warning("JPEG encoding refused a %s frame", frame.shape)
            return None
        return buf.tobytes()


class Viewer:
    """One viewer's position in the stream: yields each newest part it has not seen yet."""

    def __init__(self, hub: FrameHub, min_seq: int) -> None:
        self._hub = hub
        self._min_seq = min_seq
        self._last_seq = 0

    def next_part(self) -> bytes | None:
        """Block until a newer part than the last one returned; None once the hub closes."""
        got = self._hub._next_part(self._last_seq, self._min_seq)
        if got is None:
            return None
        self._last_seq, part = got
        return part


def _multipart_part(jpeg: bytes) -> bytes:
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    return head.encode("ascii") + jpeg + b"\r\n"
