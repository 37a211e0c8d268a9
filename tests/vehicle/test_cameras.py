"""Camera sources: OpenCV on a real video file, HTTP JPEG against a real local server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from vehicle.cameras import (
    CameraConfig,
    HttpCameraConfig,
    HttpJpegCamera,
    OpenCVCamera,
    make_camera,
)
from vehicle.interfaces import CameraError

W, H, FRAMES, FPS = 64, 48, 12, 40.0


def _frame(i: int) -> np.ndarray:
    image = np.zeros((H, W, 3), np.uint8)
    image[:, :, 2] = 20 * i  # red grows with the frame index
    return image


@pytest.fixture
def video_file(tmp_path: Path) -> Path:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    assert writer.isOpened()
    for i in range(FRAMES):
        writer.write(_frame(i))
    writer.release()
    return path


def test_opencv_camera_plays_a_video_file_to_its_end(video_file: Path):
    frames = []
    with OpenCVCamera(CameraConfig(source=str(video_file))) as camera:
        while (frame := camera.read(timeout_s=1.0)) is not None:
            frames.append(frame)
        assert camera.ended
        assert camera.read(timeout_s=0.05) is None
    assert len(frames) >= FRAMES - 2  # a fast reader sees (nearly) every paced frame
    sequences = [f.sequence for f in frames]
    assert sequences == sorted(set(sequences))
    first = frames[0]
    assert first.image.shape == (H, W, 3) and first.image.dtype == np.uint8
    assert [f.timestamp for f in frames] == sorted(f.timestamp for f in frames)
    reds = [int(f.image[..., 2].mean()) for f in frames]
    assert reds == sorted(reds) and reds[-1] > reds[0]


def test_opencv_camera_read_times_out_without_a_new_frame(video_file: Path):
    config = CameraConfig(source=str(video_file), fps=2.0)  # one frame every 0.5 s
    with OpenCVCamera(config) as camera:
        assert camera.read(timeout_s=1.0) is not None
        started = time.monotonic()
        assert camera.read(timeout_s=0.1) is None  # the same frame is never returned twice
        assert time.monotonic() - started < 0.3
        assert not camera.ended
    with pytest.raises(CameraError, match="after close"):
        camera.read(timeout_s=0.1)


def test_opencv_camera_that_cannot_open_raises(tmp_path: Path):
    bogus = tmp_path / "not-a-video.avi"
    bogus.write_bytes(b"nothing here")
    with pytest.raises(CameraError, match="cannot open"):
        OpenCVCamera(CameraConfig(source=str(bogus))).connect()


def test_camera_config_names_the_bad_field():
    with pytest.raises(ValueError, match="^width:"):
        CameraConfig(width=-1)
    with pytest.raises(ValueError, match="^source:"):
        CameraConfig(source=-2)
    with pytest.raises(ValueError, match="^url:"):
        HttpCameraConfig(url="ftp://x/shot.jpg")
    with pytest.raises(ValueError, match="^timeout_s:"):
        HttpCameraConfig(timeout_s=0)


# --------------------------------------------------------------------------- HTTP


class _ShotServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ShotHandler)
        self.counter = 0
        self.mode = "ok"  # ok | error | garbage | slow

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and hung up is part of the test


class _ShotHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a phone camera app does
    server: _ShotServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        mode = self.server.mode
        if mode == "slow":
            time.sleep(1.0)
        if mode == "error":
            self._send(503, b"busy", "text/plain")
            return
        self.server.counter += 1
        n = self.server.counter
        body = b"not a jpeg" if mode == "garbage" else cv2.imencode(".jpg", _frame(n % 10))[1]
        self._send(200, bytes(body), "image/jpeg", {"X-Frame": str(n), "X-Sim-Time": f"{n / 20}"})

    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def shot_server() -> Iterator[_ShotServer]:
    server = _ShotServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: _ShotServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/shot.jpg"


def test_http_camera_fetches_one_frame_per_read(shot_server: _ShotServer):
    with HttpJpegCamera(HttpCameraConfig(url=_url(shot_server))) as camera:
        frames = [camera.read(timeout_s=1.0) for _ in range(3)]
    assert all(f is not None for f in frames)
    assert [f.sequence for f in frames] == [0, 1, 2]
    assert [f.meta["X-Frame"] for f in frames] == ["1", "2", "3"]
    assert frames[1].meta["X-Sim-Time"] == "0.1"
    assert frames[0].image.shape == (H, W, 3) and frames[0].image.dtype == np.uint8
    assert shot_server.counter == 3


def test_http_camera_errors_give_none_and_log_once(shot_server: _ShotServer, caplog):
    with HttpJpegCamera(HttpCameraConfig(url=_url(shot_server))) as camera:
        shot_server.mode = "error"
        with caplog.at_level("WARNING", logger="vehicle.cameras"):
            assert all(camera.read(timeout_s=1.0) is None for _ in range(5))
        assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1
        shot_server.mode = "garbage"
        assert camera.read(timeout_s=1.0) is None
        shot_server.mode = "ok"
        assert camera.read(timeout_s=1.0) is not None


def test_http_camera_read_honours_its_timeout(shot_server: _ShotServer):
    shot_server.mode = "slow"
    with HttpJpegCamera(HttpCameraConfig(url=_url(shot_server))) as camera:
        started = time.monotonic()
        assert camera.read(timeout_s=0.2) is None
        assert time.monotonic() - started < 0.6


def test_http_camera_on_a_dead_port_gives_none():
    with HttpJpegCamera(HttpCameraConfig(url="http://127.0.0.1:9/shot.jpg")) as camera:
        assert camera.read(timeout_s=0.5) is None


# --------------------------------------------------------------------------- factory


def test_make_camera_dispatch(video_file: Path):
    assert isinstance(make_camera("http://10.0.0.5:8080/shot.jpg"), HttpJpegCamera)
    assert isinstance(make_camera("https://cam.local/cars/c1/frame.JPEG?x=1"), HttpJpegCamera)
    assert isinstance(make_camera("http://10.0.0.5:8080/video"), OpenCVCamera)
    assert isinstance(make_camera("rtsp://10.0.0.5/stream"), OpenCVCamera)
    assert isinstance(make_camera(str(video_file)), OpenCVCamera)
    usb = make_camera("0")
    assert isinstance(usb, OpenCVCamera) and usb.config.source == 0
    assert isinstance(make_camera(2), OpenCVCamera)


@pytest.mark.parametrize("spec", ["", "  ", "ftp://host/shot.jpg", "http:///shot.jpg", "/no/such"])
def test_make_camera_refuses_bad_specs(spec: str):
    with pytest.raises(ValueError, match="camera"):
        make_camera(spec)
