"""MJPEG stream cost on the car: CPU with 0, 1 and 20 viewers, and publish→receive latency.

    .venv/bin/python benchmarks/stream.py [--frames 300] [--fps 30] [--viewers 0,1,20]

The car side (this process) publishes 320x240 frames at `--fps` through `StreamServer`
with its default config (JPEG quality 70, max_fps 15). Viewers run in a separate
process (one selector loop over N sockets), so their cost is not counted: the CPU column
is `time.process_time()` of the car process over the publishing run, i.e. the car loop,
the encoder, and every HTTP thread.

Latency: each frame carries its number as 16 black/white 16x16 blocks in its top row.
The viewer process notes CLOCK_MONOTONIC when a part's last byte arrives and decodes the
number (1/8-scale greyscale decode, after the timestamp); this process noted the same
clock just before `publish`. Latency is publish → complete part received, over every
(viewer, frame) pair.

Two comparison rows are *models*, written here, not the real thing:
- "donkeycar-style model": a re-implementation of the shape of donkeycar's `VideoAPI`
  handler (web_controller/web.py): every connected client loops every 5 ms, JPEG-encodes
  the current image and writes it, whether or not the image changed.
- "encode-on-publish model": the car loop encodes each kept frame itself and viewers
  send the bytes; it shows what the car loop would pay without the encoder thread.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing as mp
import selectors
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vehicle.stream import StreamAccess, StreamConfig, StreamServer  # noqa: E402

TOKEN = "bench-token"
WIDTH, HEIGHT = 320, 240
BITS = 16
BLOCK = 16
DONKEY_INTERVAL_S = 0.005


# -- frames ---------------------------------------------------------------------------------


def make_frames(count: int, seed: int = 0) -> list[np.ndarray]:
    """Road-like frames (sky, road, lane lines, a box, mild sensor noise) numbered 0..count-1."""
    rng = np.random.default_rng(seed)
    base = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    base[: HEIGHT // 2] = np.linspace(230, 150, HEIGHT // 2, dtype=np.uint8)[:, None, None]
    base[HEIGHT // 2 :] = (90, 90, 95)
    frames = []
    for i in range(count):
        frame = base.copy()
        shift = int(20 * np.sin(i / 15))
        cv2.line(frame, (60 + shift, HEIGHT), (150 + shift, HEIGHT // 2), (240, 240, 240), 4)
        cv2.line(frame, (260 + shift, HEIGHT), (170 + shift, HEIGHT // 2), (0, 210, 230), 4)
        cv2.rectangle(frame, (120 + shift, 120), (170 + shift, 160), (0, 255, 0), 2)
        cv2.putText(frame, f"steer {shift:+d}", (8, HEIGHT - 10), 0, 0.5, (0, 0, 255), 1)
        noise = rng.integers(-6, 7, frame.shape, dtype=np.int16)
        frame = np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        stamp(frame, i)
        frames.append(frame)
    return frames


def stamp(frame: np.ndarray, number: int) -> None:
    for bit in range(BITS):
        value = 255 if (number >> bit) & 1 else 0
        frame[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = value


def read_stamp(jpeg: bytes) -> int:
    small = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    step = BLOCK // 8
    return sum(1 << bit for bit in range(BITS) if small[step // 2, bit * step + step // 2] > 127)


# -- the viewer process ---------------------------------------------------------------------


def run_viewers(url: str, count: int, conn: Connection, stop: mp.synchronize.Event) -> None:
    """N viewers on one selector; sends back [(frame number, receive ns), ...] per viewer."""
    parts = urlsplit(url)
    selector = selectors.DefaultSelector()
    buffers: list[bytearray] = []
    received: list[list[tuple[int, int]]] = []
    for index in range(count):
        sock = socket.create_connection((parts.hostname, parts.port))
        sock.sendall(f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: car\r\n\r\n".encode())
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, index)
        buffers.append(bytearray())
        received.append([])
    headers_seen = [False] * count
    numbers: dict[bytes, int] = {}  # identical re-encodes (donkeycar model) decode once
    ready_sent = False
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.05):
            index, sock = key.data, key.fileobj
            try:
                chunk = sock.recv(1 << 20)
            except BlockingIOError:
                continue
            now = time.monotonic_ns()
            if not chunk:
                selector.unregister(sock)
                continue
            buf = buffers[index]
            buf += chunk
            if not headers_seen[index]:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                del buf[: end + 4]
                headers_seen[index] = True
            while (jpeg := _take_part(buf)) is not None:
                key_bytes = bytes(jpeg[-32:]) + len(jpeg).to_bytes(4, "little")
                if key_bytes not in numbers:
                    numbers[key_bytes] = read_stamp(jpeg)
                received[index].append((numbers[key_bytes], now))
        if not ready_sent and all(headers_seen):
            conn.send("ready")
            ready_sent = True
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    conn.send(received)


def _take_part(buf: bytearray) -> bytes | None:
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    length = None
    for line in bytes(buf[:end]).split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None or len(buf) < end + 4 + length + 2:
        return None
    jpeg = bytes(buf[end + 4 : end + 4 + length])
    del buf[: end + 4 + length + 2]
    return jpeg


# -- comparison models (NOT the real implementations) --------------------------------------


class ModelStream:
    """Tiny MJPEG server for the comparison rows; `per_client` models donkeycar's handler."""

    def __init__(self, *, per_client: bool, quality: int = 70, max_fps: float = 15.0) -> None:
        self.per_client = per_client
        self._params = [int(cv2.IMWRITE_JPEG_QUALITY), quality]
        self._interval = 1.0 / max_fps
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._image: np.ndarray | None = None
        self._jpeg: bytes | None = None
        self._seq = 0
        self._next_due = 0.0
        self._encodes = 0
        self._closed = False
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                with contextlib.suppress(OSError):  # the viewer left
                    model._serve(self.connection)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/stream?token={TOKEN}"

    @property
    def encoded_frames(self) -> int:
        with self._lock:
            return self._encodes

    def publish(self, frame: np.ndarray) -> None:
        if self.per_client:  # donkeycar keeps the newest array; its handlers do the rest
            with self._lock:
                self._image = frame
            return
        now = time.monotonic()
        with self._lock:
            if now < self._next_due:
                return
            # the same schedule as FrameHub.publish
            if now - self._next_due < self._interval:
                self._next_due += self._interval
            else:
                self._next_due = now + self._interval
        ok, buf = cv2.imencode(".jpg", frame, self._params)  # in the car loop
        with self._lock:
            self._jpeg, self._seq = buf.tobytes(), self._seq + 1
            self._encodes += 1
            self._cond.notify_all()

    def _serve(self, sock: socket.socket) -> None:
        last_seq = 0
        while True:
            if self.per_client:
                with self._lock:
                    image, closed = self._image, self._closed
                if closed:
                    return
                if image is None:
                    time.sleep(DONKEY_INTERVAL_S)
                    continue
                ok, buf = cv2.imencode(".jpg", image, self._params)  # every client, every tick
                jpeg = buf.tobytes()
                with self._lock:
                    self._encodes += 1
            else:
                with self._lock:
                    seen = last_seq
                    self._cond.wait_for(lambda seen=seen: self._closed or self._seq > seen)
                    if self._closed:
                        return
                    jpeg, last_seq = self._jpeg, self._seq
            head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
            sock.sendall(head.encode() + jpeg + b"\r\n")
            if self.per_client:
                time.sleep(DONKEY_INTERVAL_S)

    def stop(self) -> None:
        with self._lock:
            self._closed = True
            self._cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()


# -- one run --------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    viewers: int
    seconds: float
    cpu_s: float
    encodes: int
    publish_us: list[float]
    latencies_ms: list[float] = field(default_factory=list)
    received_per_viewer: float = 0.0


def run_case(
    label: str,
    make: Callable[[], tuple],
    frames: list[np.ndarray],
    viewers: int,
    fps: float,
) -> Result:
    start, publish, encodes, stop = make()
    url = start()
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    stop_viewers = ctx.Event()
    proc = None
    if viewers:
        proc = ctx.Process(target=run_viewers, args=(url, viewers, child, stop_viewers))
        proc.start()
        if not parent.poll(30) or parent.recv() != "ready":
            raise RuntimeError("viewer process did not connect")
    published_ns: dict[int, int] = {}
    publish_us: list[float] = []
    period = 1.0 / fps
    time.sleep(0.2)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for number, frame in enumerate(frames):
        delay = wall0 + number * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        published_ns[number] = time.monotonic_ns()
        t0 = time.perf_counter()
        publish(frame)
        publish_us.append((time.perf_counter() - t0) * 1e6)
    time.sleep(0.3)  # let the last frames reach the viewers
    cpu_s, seconds = time.process_time() - cpu0, time.perf_counter() - wall0
    result = Result(label, viewers, seconds, cpu_s, encodes(), publish_us)
    if proc is not None:
        stop_viewers.set()
        received = parent.recv()
        proc.join(10)
        firsts = []
        for per_viewer in received:
            first: dict[int, int] = {}
            for number, at in per_viewer:
                first.setdefault(number, at)
            firsts.append(first)
            result.latencies_ms += [
                (at - published_ns[n]) / 1e6 for n, at in first.items() if n in published_ns
            ]
        result.received_per_viewer = statistics.mean(len(f) for f in firsts)
    stop()
    return result


def ours(quality: int) -> tuple:
    access = StreamAccess()
    access.set_booking_token(TOKEN)
    server = StreamServer(
        StreamConfig(host="127.0.0.1", port=0, jpeg_quality=quality), authorize=access
    )

    def start() -> str:
        server.start()
        return f"{server.stream_url}?token={TOKEN}"

    return start, server.publish, lambda: server.encoded_frames, server.stop


def model(per_client: bool, quality: int) -> tuple:
    stream = ModelStream(per_client=per_client, quality=quality)
    return stream.start, stream.publish, lambda: stream.encoded_frames, stream.stop


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def table(results: list[Result]) -> str:
    lines = [
        "| implementation | viewers | CPU s | CPU % of 1 core | JPEG encodes | frames/viewer "
        "| latency p50 ms | latency p99 ms | publish() p50 µs | publish() p99 µs "
        "| publish() max µs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lat50 = f"{pct(r.latencies_ms, 0.5):.1f}" if r.latencies_ms else "–"
        lat99 = f"{pct(r.latencies_ms, 0.99):.1f}" if r.latencies_ms else "–"
        per_viewer = f"{r.received_per_viewer:.0f}" if r.viewers else "–"
        lines.append(
            f"| {r.label} | {r.viewers} | {r.cpu_s:.2f} | {100 * r.cpu_s / r.seconds:.1f} "
            f"| {r.encodes} | {per_viewer} | {lat50} | {lat99} "
            f"| {pct(r.publish_us, 0.5):.0f} | {pct(r.publish_us, 0.99):.0f} "
            f"| {max(r.publish_us):.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames published per run")
    parser.add_argument("--fps", type=float, default=30.0, help="car loop rate")
    parser.add_argument("--viewers", default="0,1,20", help="viewer counts, comma-separated")
    parser.add_argument("--quality", type=int, default=70)
    parser.add_argument("--no-models", action="store_true", help="skip the comparison rows")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    counts = [int(v) for v in args.viewers.split(",")]
    frames = make_frames(args.frames)
    cases: list[tuple[str, Callable[[], tuple], int]] = [
        ("vehicle.stream (encoder thread)", lambda: ours(args.quality), n) for n in counts
    ]
    if not args.no_models:
        for n in [c for c in counts if c]:
            cases.append(("encode-on-publish model", lambda: model(False, args.quality), n))
        for n in [c for c in counts if c]:
            label = "donkeycar-style model (5 ms/client)"
            cases.append((label, lambda: model(True, args.quality), n))
    results = []
    for label, make, n in cases:
        results.append(run_case(label, make, frames, n, args.fps))
        print(f"done: {label}, {n} viewers", file=sys.stderr)
    ok, jpeg = cv2.imencode(".jpg", frames[0], [int(cv2.IMWRITE_JPEG_QUALITY), args.quality])
    print(
        f"{args.frames} frames of {WIDTH}x{HEIGHT} published at {args.fps:g} fps "
        f"(max_fps 15 => {round(args.frames / 2)} kept), JPEG q{args.quality} "
        f"~{len(jpeg) / 1024:.0f} KiB, {mp.cpu_count()} CPUs\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
