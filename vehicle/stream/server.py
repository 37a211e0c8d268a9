"""`StreamServer`: the car's MJPEG stream, encoded once per kept frame, sent to every viewer."""

from __future__ import annotations

import logging
import threading

import numpy as np

from vehicle.stream.config import StreamConfig
from vehicle.stream.handler import Authorize, StreamHttpServer
from vehicle.stream.hub import FrameHub

log = logging.getLogger(__name__)

_WILDCARD_HOSTS = {"0.0.0.0", "", "::"}
_DEFAULT_CONFIG = StreamConfig()


class StreamServer:
    """Publish annotated frames from the car loop; viewers watch `stream_url`.

    Threads: `start` creates the HTTP accept thread, the encoder thread (inside the hub)
    and, per connection, a daemon handler thread. `publish` runs on the caller's thread
    and only swaps the hub's frame slot. `stop` ends all of them.

    `authorize(token)` decides access to /stream and /snapshot.jpg (`StreamAccess` is the
    runtime's); None leaves the stream open, for local tools and tests only.
    """

    def __init__(
        self, config: StreamConfig = _DEFAULT_CONFIG, *, authorize: Authorize | None = None
    ) -> None:
        self._config = config
        self._authorize = authorize
        self._hub = FrameHub(
            jpeg_quality=config.jpeg_quality,
            max_fps=config.max_fps,
            max_viewers=config.max_viewers,
        )
        self._lock = threading.Lock()  # guards the lifecycle fields below
        self._httpd: StreamHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._stopped = False

    def start(self) -> str:
        """Bind (port 0 => a free port), start serving, and return the base URL."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("this StreamServer was stopped; create a new one")
            if self._httpd is not None:
                raise RuntimeError("this StreamServer is already started")
            httpd = StreamHttpServer(self._config, hub=self._hub, authorize=self._authorize)
            self._hub.start()
            port = httpd.server_address[1]
            host = self._config.advertise_host or self._config.host
            if host in _WILDCARD_HOSTS:
                host = "127.0.0.1"
            self._url = f"http://{host}:{port}"
            self._thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.2},
                name="stream-http",
                daemon=True,
            )
            self._httpd = httpd
            self._thread.start()
        log.info("MJPEG stream on %s:%d (url %s)", self._config.host, port, self._url)
        return self._url

    def publish(self, frame_bgr: np.ndarray) -> None:
        """Offer the car's newest annotated frame (BGR uint8). Never waits for viewers.

        Frames beyond `max_fps` are skipped; a kept frame is copied (the caller may reuse
        its buffer) and encoded by the encoder thread only if someone is watching.
        """
        self._hub.publish(frame_bgr)

    def disconnect_viewers(self) -> None:
        """Close every current viewer's connection (e.g. when the booking ends).

        Viewers must reconnect, and `authorize` then decides again. A viewer that is
        waiting for a frame notices at the next frame.
        """
        with self._lock:
            httpd = self._httpd
        if httpd is not None:
            httpd.close_viewers()

    def stop(self, timeout: float = 2.0) -> None:
        """Close every viewer, stop serving and release the port; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            httpd, thread = self._httpd, self._thread
        self._hub.close(timeout)
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_viewers()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout)
        if not self._hub.wait_no_viewers(timeout):
            log.warning("stream stopped with %d viewer threads still finishing", self.viewers)
        log.info("MJPEG stream stopped")

    def __enter__(self) -> StreamServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def viewers(self) -> int:
        return self._hub.viewers

    @property
    def encoded_frames(self) -> int:
        """JPEG encodes so far: at most one per kept frame, whatever the number of viewers."""
        return self._hub.encoded_frames

    @property
    def published_frames(self) -> int:
        """Frames kept by `publish` (not skipped by the max_fps cap)."""
        return self._hub.kept_frames

    @property
    def skipped_frames(self) -> int:
        return self._hub.skipped_frames

    @property
    def url(self) -> str:
        with self._lock:
            if self._url is None:
                raise RuntimeError("the stream is not started")
            return self._url

    @property
    def stream_url(self) -> str:
        return self.url + "/stream"
