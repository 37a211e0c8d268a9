"""The MJPEG stream over real sockets: broadcast, slow and stalled viewers, tokens, stop."""

from __future__ import annotations

import http.client
import socket
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest
import requests

from vehicle.stream import StreamAccess, StreamConfig, StreamServer

TOKEN = "booking-token-123"


def frame_with_id(frame_id: int, shape: tuple[int, int] = (48, 64)) -> np.ndarray:
    """A flat grey frame whose level encodes `frame_id` (survives JPEG: steps of 4)."""
    return np.full((*shape, 3), 8 + 4 * (frame_id % 60), np.uint8)


def id_of(jpeg: bytes) -> int:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    return round((float(image.mean()) - 8) / 4)


def noise_frame(seed: int) -> np.ndarray:
    """A frame that compresses badly (~60 kB), to fill socket buffers quickly."""
    return np.random.default_rng(seed).integers(0, 256, (240, 320, 3), np.uint8)


class MjpegClient(threading.Thread):
    """A viewer that parses the multipart stream; optionally stops reading after some parts."""

    def __init__(self, url: str, *, pause_after: int | None = None, pause_s: float = 0.0):
        super().__init__(daemon=True)
        self._url = urlsplit(url)
        self._pause_after = pause_after
        self._pause_s = pause_s
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self.content_type: str | None = None
        self.connected = threading.Event()
        self.ended = threading.Event()

    @property
    def ids(self) -> list[int]:
        with self._lock:
            return list(self._ids)

    def run(self) -> None:
        conn = http.client.HTTPConnection(self._url.hostname, self._url.port, timeout=10)
        try:
            conn.request("GET", f"{self._url.path}?{self._url.query}")
            response = conn.getresponse()
            self.content_type = response.getheader("Content-Type")
            self.connected.set()
            for count, jpeg in enumerate(_parts(response), start=1):
                with self._lock:
                    self._ids.append(id_of(jpeg))
                if count == self._pause_after:
                    time.sleep(self._pause_s)
                    return
        except OSError:
            pass
        finally:
            conn.close()
            self.ended.set()


def _parts(response: http.client.HTTPResponse) -> Iterator[bytes]:
    while True:
        boundary = response.readline()
        if not boundary:
            return
        assert boundary == b"--frame\r\n", boundary
        headers = {}
        while (line := response.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        length = int(headers["content-length"])
        data = b""
        while len(data) < length:
            chunk = response.read(length - len(data))
            if not chunk:
                return
            data += chunk
        assert response.read(2) == b"\r\n"
        yield data


def wait_until(predicate, timeout: float = 3.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


@pytest.fixture
def make_server() -> Iterator:
    servers: list[StreamServer] = []

    def make(**overrides: object) -> StreamServer:
        access = StreamAccess()
        access.set_booking_token(TOKEN)
        config = StreamConfig(host="127.0.0.1", port=0, **overrides)
        server = StreamServer(config, authorize=access)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def viewer_url(server: StreamServer) -> str:
    return f"{server.stream_url}?token={TOKEN}"


def start_clients(server: StreamServer, n: int, **kwargs: object) -> list[MjpegClient]:
    before = server.viewers
    clients = [MjpegClient(viewer_url(server), **kwargs) for _ in range(n)]
    for client in clients:
        client.start()
    assert wait_until(lambda: server.viewers == before + n), server.viewers
    return clients


def test_every_viewer_receives_the_frames(make_server):
    server = make_server(max_fps=100.0)
    clients = start_clients(server, 5)
    for i in range(1, 31):
        server.publish(frame_with_id(i))
        time.sleep(0.02)
    assert wait_until(lambda: all(c.ids and c.ids[-1] == 30 for c in clients))
    for client in clients:
        assert client.content_type == "multipart/x-mixed-replace; boundary=frame"
        assert client.ids == sorted(set(client.ids))  # in order, never a frame twice
        assert len(client.ids) >= 25, client.ids  # 30 published, 20 ms apart


@pytest.fixture
def short_gil_slices() -> Iterator[None]:
    """The test's own viewers share the car's interpreter; with the default 5 ms GIL slice a
    viewer parsing a part can delay `publish` by one slice, which a real (remote) viewer
    cannot. Shorter slices keep the measurement about the stream, not the harness."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("short_gil_slices")
def test_slow_viewer_holds_back_neither_the_others_nor_publish(make_server):
    server = make_server(max_fps=30.0, send_buffer_bytes=16 * 1024)
    slow = start_clients(server, 1, pause_after=1, pause_s=3.0)[0]
    fast = start_clients(server, 5)
    frames = [noise_frame(i) for i in range(4)]
    durations = []
    for i in range(60):  # 2 s at 30 fps
        frame = frames[i % 4]
        frame[0, 0] = i  # a new frame each time, like the car loop redrawing its buffer
        t0 = time.perf_counter()
        server.publish(frame)
        durations.append(time.perf_counter() - t0)
        time.sleep(1 / 30)
    kept = server.published_frames
    # A broadcast serialised behind the paused viewer would deliver ~1 frame; a loaded CI
    # machine may make a fast viewer skip a few (it always gets the newest, never a backlog).
    assert wait_until(lambda: all(len(c.ids) >= 0.8 * kept for c in fast)), (
        kept,
        [len(c.ids) for c in fast],
    )
    assert len(slow.ids) == 1 and not slow.ended.is_set()  # still connected, not reading
    durations.sort()
    # Paying the encode (~1 ms) would show in the median and p90; waiting on the paused
    # viewer (3 s) in the max. A few scheduler hiccups on a loaded machine are tolerated.
    assert durations[len(durations) // 2] < 0.0005, durations
    assert durations[int(len(durations) * 0.9)] < 0.001, durations[-8:]
    assert durations[-1] < 0.05, durations[-5:]


def test_stalled_viewer_is_dropped_after_send_timeout(make_server):
    server = make_server(max_fps=30.0, send_timeout_s=0.5, send_buffer_bytes=8 * 1024)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect((urlsplit(server.url).hostname, urlsplit(server.url).port))
    stalled.sendall(f"GET /stream?token={TOKEN} HTTP/1.1\r\nHost: car\r\n\r\n".encode())
    assert wait_until(lambda: server.viewers == 1)
    fast = start_clients(server, 1)[0]
    started = time.monotonic()
    i = 0
    while server.viewers > 1 and time.monotonic() - started < 5.0:
        server.publish(noise_frame(i % 3))
        i += 1
        time.sleep(1 / 30)
    dropped_after = time.monotonic() - started
    stalled.close()
    assert server.viewers == 1, "the stalled viewer was never dropped"
    assert 0.5 <= dropped_after < 3.0
    assert not fast.ended.is_set() and len(fast.ids) >= 0.8 * server.published_frames


@pytest.mark.parametrize("n_viewers", [1, 10])
def test_each_kept_frame_is_encoded_once_whatever_the_viewers(make_server, n_viewers):
    server = make_server(max_fps=1000.0)
    for i in range(5):  # no viewers yet: nothing is encoded
        server.publish(frame_with_id(i))
        time.sleep(0.002)
    assert server.encoded_frames == 0
    clients = start_clients(server, n_viewers)
    assert wait_until(lambda: server.encoded_frames == 1)  # the newest frame, for the joiners
    for i in range(1, 21):
        server.publish(frame_with_id(i))
        assert wait_until(lambda i=i: server.encoded_frames == 1 + i)
        assert wait_until(lambda i=i: all(c.ids and c.ids[-1] == i for c in clients))
    time.sleep(0.1)
    assert server.encoded_frames == 21 == server.published_frames - 4
    for client in clients:
        assert client.ids[-20:] == list(range(1, 21))


def test_max_fps_is_respected(make_server):
    server = make_server(max_fps=10.0)
    start_clients(server, 2)
    started = time.monotonic()
    published = 0
    while time.monotonic() - started < 1.0:
        server.publish(frame_with_id(published))
        published += 1
        time.sleep(0.001)
    elapsed = time.monotonic() - started
    assert published > 200
    assert 9 <= server.published_frames <= 10 * elapsed + 1
    assert wait_until(lambda: server.encoded_frames == server.published_frames)


def test_tokens_and_json_errors(make_server):
    server = make_server()
    for path in ("/stream", "/snapshot.jpg"):
        missing = requests.get(server.url + path, timeout=5)
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "missing_token"
        wrong = requests.get(server.url + path, params={"token": "nope"}, timeout=5)
        assert wrong.status_code == 403
        assert set(wrong.json()["error"]) == {"code", "message"}
    unknown = requests.get(server.url + "/nope", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    posted = requests.post(server.url + "/stream", timeout=5)
    assert posted.status_code == 501 and "error" in posted.json()
    health = requests.get(server.url + "/health", timeout=5)
    assert health.status_code == 200
    assert health.json() == {"viewers": 0, "frames": 0, "encoded": 0}


def test_snapshot(make_server):
    server = make_server()
    none_yet = requests.get(server.url + "/snapshot.jpg", params={"token": TOKEN}, timeout=5)
    assert none_yet.status_code == 503 and none_yet.json()["error"]["code"] == "no_frame"
    server.publish(frame_with_id(7))
    shot = requests.get(
        server.url + "/snapshot.jpg", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert shot.status_code == 200 and shot.headers["Content-Type"] == "image/jpeg"
    assert id_of(shot.content) == 7
    again = requests.get(server.url + "/snapshot.jpg", params={"token": TOKEN}, timeout=5)
    assert again.content == shot.content and server.encoded_frames == 1  # cached, not re-encoded


def test_max_viewers(make_server):
    server = make_server(max_viewers=2)
    start_clients(server, 2)
    third = requests.get(viewer_url(server), timeout=5)
    assert third.status_code == 503 and third.json()["error"]["code"] == "too_many_viewers"


def test_disconnect_viewers_ends_their_streams(make_server):
    server = make_server(max_fps=100.0)
    clients = start_clients(server, 2)
    assert wait_until(lambda: server.viewers == 2)  # both connected before they are cut
    server.disconnect_viewers()
    server.publish(frame_with_id(1))
    assert all(c.ended.wait(2.0) for c in clients)
    assert wait_until(lambda: server.viewers == 0)


def test_stop_closes_viewers_and_the_port(make_server):
    server = make_server()
    clients = start_clients(server, 3)
    server.publish(frame_with_id(1))
    assert wait_until(lambda: all(c.ids == [1] for c in clients))
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    t0 = time.monotonic()
    server.stop()
    assert time.monotonic() - t0 < 1.5
    assert all(c.ended.wait(2.0) for c in clients)
    assert server.viewers == 0
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=1).close()
    server.publish(frame_with_id(2))  # after stop: ignored, never raises
