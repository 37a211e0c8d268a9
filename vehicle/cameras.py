"""Camera sources: anything OpenCV can open, and one-JPEG-per-request HTTP cameras.

    camera = make_camera("http://127.0.0.1:8100/cars/car1/shot.jpg")
    with camera:
        frame = camera.read(timeout_s=0.5)   # CameraFrame or None

`OpenCVCamera` runs a reader thread that keeps only the newest frame, so a slow loop
always sees the present, never a backlog. `HttpJpegCamera` fetches one frame per
`read()` (a phone IP-camera app's `shot.jpg`, or the simulator's camera endpoint,
which advances its clock only after the car answered the frame it was served).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np
import requests

from vehicle.interfaces import CameraError, CameraFrame, CameraSource

log = logging.getLogger(__name__)

META_HEADERS = ("X-Sim-Time", "X-Frame", "X-Sim-Sync")
STREAM_SCHEMES = {"http", "https", "rtsp", "rtsps", "rtmp", "udp", "tcp"}


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 BGR, whatever the source delivered."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


# --------------------------------------------------------------------------- OpenCV


@dataclass(frozen=True)
class CameraConfig:
    """An OpenCV capture. `source`: device index, stream URL or video file path.

    `width`/`height`/`fps` are requested from devices (0 = the device's default). A video
    file is played at `fps`, or at its own rate when `fps` is 0.
    """

    source: str | int = 0
    width: int = 640
    height: int = 480
    fps: float = 0.0
    reconnect_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.source, bool) or not isinstance(self.source, str | int):
            raise ValueError(f"source: must be a device index, URL or path, got {self.source!r}")
        if isinstance(self.source, int) and self.source < 0:
            raise ValueError(f"source: device index must be >= 0, got {self.source}")
        if isinstance(self.source, str) and not self.source.strip():
            raise ValueError("source: must not be empty")
        if self.width < 0:
            raise ValueError(f"width: must be >= 0, got {self.width}")
        if self.height < 0:
            raise ValueError(f"height: must be >= 0, got {self.height}")
        if self.fps < 0:
            raise ValueError(f"fps: must be >= 0, got {self.fps}")
        if self.reconnect_interval_s <= 0:
            raise ValueError(
                f"reconnect_interval_s: must be positive, got {self.reconnect_interval_s}"
            )


class OpenCVCamera(CameraSource):
    """A `cv2.VideoCapture` read by a background thread that keeps only the newest frame."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self._is_file = isinstance(config.source, str) and Path(config.source).is_file()
        self._capture: cv2.VideoCapture | None = None
        self._cond = threading.Condition()
        self._latest: CameraFrame | None = None
        self._returned = -1
        self._ended = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ended(self) -> bool:
        """True once a video file has no more frames."""
        with self._cond:
            return self._ended

    def connect(self) -> None:
        if self._thread is not None:
            return
        capture = self._open()
        if capture is None:
            raise CameraError(f"cannot open camera source {self.config.source!r}")
        self._capture = capture
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="camera-reader", daemon=True)
        self._thread.start()

    def read(self, timeout_s: float) -> CameraFrame | None:
        if self._thread is None:
            raise CameraError("read() before connect() or after close()")

        def news() -> bool:
            fresh = self._latest is not None and self._latest.sequence > self._returned
            return fresh or self._ended or self._thread is None

        with self._cond:
            self._cond.wait_for(news, timeout=max(0.0, timeout_s))
            frame = self._latest
            if frame is None or frame.sequence <= self._returned:
                return None
            self._returned = frame.sequence
            return frame

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=5.0)
        if thread.is_alive():
            log.warning("camera reader for %r did not stop in time", self.config.source)
            return  # it still owns the capture; releasing now would race with its read
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ reader thread
    def _open(self) -> cv2.VideoCapture | None:
        capture = cv2.VideoCapture(self.config.source)
        if not capture.isOpened():
            capture.release()
            return None
        if not self._is_file:
            if self.config.width:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.config.width)
            if self.config.height:
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.config.height)
            if self.config.fps:
                capture.set(cv2.CAP_PROP_FPS, self.config.fps)
        return capture

    def _file_period(self, capture: cv2.VideoCapture) -> float:
        fps = self.config.fps or capture.get(cv2.CAP_PROP_FPS) or 30.0
        return 1.0 / fps

    def _run(self) -> None:
        capture = self._capture
        assert capture is not None
        period = self._file_period(capture) if self._is_file else 0.0
        started = time.monotonic()
        sequence = 0
        failing = False
        while not self._stop.is_set():
            if self._is_file:
                due = started + sequence * period
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    break
            ok, image = capture.read()
            if ok and image is not None:
                if failing:
                    log.info("camera %r delivers frames again", self.config.source)
                    failing = False
                frame = CameraFrame(_as_bgr(image), time.monotonic(), sequence, {})
                sequence += 1
                with self._cond:
                    self._latest = frame
                    self._cond.notify_all()
                continue
            if self._is_file:
                log.info("video file %s ended after %d frames", self.config.source, sequence)
                with self._cond:
                    self._ended = True
                    self._cond.notify_all()
                return
            if not failing:
                log.warning("camera %r gave no frame; reopening", self.config.source)
                failing = True
            capture = self._reopen(capture)

    def _reopen(self, capture: cv2.VideoCapture) -> cv2.VideoCapture:
        capture.release()
        while not self._stop.wait(self.config.reconnect_interval_s):
            reopened = self._open()
            if reopened is not None:
                self._capture = reopened
                return reopened
        return capture


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class HttpCameraConfig:
    """A camera that serves one JPEG per `GET url` (e.g. an IP-camera app's `shot.jpg`)."""

    url: str = "http://127.0.0.1:8080/shot.jpg"
    timeout_s: float = 2.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url: must be an http(s) URL, got {self.url!r}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s: must be positive, got {self.timeout_s}")


class HttpJpegCamera(CameraSource):
    """One request per `read()` over a keep-alive session; errors give None, not exceptions."""

    def __init__(self, config: HttpCameraConfig) -> None:
        self.config = config
        self._session: requests.Session | None = None
        self._sequence = 0
        self._failing = False

    def connect(self) -> None:
        """Prepare the session. Fetches nothing: a served frame may hold a simulator's clock."""
        if self._session is None:
            self._session = requests.Session()

    def read(self, timeout_s: float) -> CameraFrame | None:
        if self._session is None:
            raise CameraError("read() before connect() or after close()")
        timeout = max(0.001, min(timeout_s, self.config.timeout_s))
        try:
            response = self._session.get(self.config.url, timeout=timeout)
        except requests.RequestException as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            return None
        if response.status_code != 200:
            self._failed(f"HTTP {response.status_code}")
            return None
        received = time.monotonic()
        data = np.frombuffer(response.content, dtype=np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            self._failed(f"not a decodable image ({len(response.content)} bytes)")
            return None
        if self._failing:
            log.info("camera %s answers again", self.config.url)
            self._failing = False
        meta = {name: response.headers[name] for name in META_HEADERS if name in response.headers}
        frame = CameraFrame(image, received, self._sequence, meta)
        self._sequence += 1
        return frame

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def _failed(self, why: str) -> None:
        if self._failing:
            log.debug("camera %s: %s", self.config.url, why)
        else:
            log.warning("camera %s: %s (further failures logged at debug)", self.config.url, why)
            self._failing = True


# --------------------------------------------------------------------------- factory


def make_camera(spec: str | int) -> CameraSource:
    """A camera from a command-line spec.

    - `http(s)://…/shot.jpg` (any path ending in .jpg/.jpeg): `HttpJpegCamera`;
    - another stream URL (http MJPEG, rtsp, …): `OpenCVCamera`;
    - a device index (`0`) or an existing file or device path: `OpenCVCamera`.
    """
    if isinstance(spec, int) and not isinstance(spec, bool):
        return OpenCVCamera(CameraConfig(source=spec))
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"camera: expected a device index, URL or path, got {spec!r}")
    spec = spec.strip()
    if spec.isdigit():
        return OpenCVCamera(CameraConfig(source=int(spec)))
    if "://" in spec:
        parts = urlsplit(spec)
        if parts.scheme.lower() not in STREAM_SCHEMES or not parts.netloc:
            raise ValueError(
                f"camera: unsupported URL {spec!r} (expected {', '.join(sorted(STREAM_SCHEMES))})"
            )
        is_http = parts.scheme.lower() in ("http", "https")
        if is_http and parts.path.lower().endswith((".jpg", ".jpeg")):
            return HttpJpegCamera(HttpCameraConfig(url=spec))
        return OpenCVCamera(CameraConfig(source=spec))
    if not Path(spec).exists():
        raise ValueError(f"camera: {spec!r} is not a device index, URL, or existing file/device")
    return OpenCVCamera(CameraConfig(source=spec))
