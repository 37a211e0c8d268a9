"""The HTTP side of the stream: one thread per connection, JSON errors, token check.

`StreamHttpServer` owns the listening socket and the set of open viewer sockets (under
its own lock) so that `close_viewers` can unblock a viewer stuck in `sendall`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from vehicle.stream.config import StreamConfig
from vehicle.stream.hub import BOUNDARY, FrameHub, HubClosed, TooManyViewers

log = logging.getLogger(__name__)

Authorize = Callable[[str | None], bool]

SNAPSHOT_WAIT_S = 2.0


class StreamHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, config: StreamConfig, *, hub: FrameHub, authorize: Authorize | None) -> None:
        self.config = config
        self.hub = hub
        self.authorize = authorize
        self._viewer_lock = threading.Lock()
        self._viewer_sockets: set[socket.socket] = set()
        super().__init__((config.host, config.port), StreamRequestHandler)

    def track_viewer(self, sock: socket.socket) -> None:
        with self._viewer_lock:
            self._viewer_sockets.add(sock)

    def untrack_viewer(self, sock: socket.socket) -> None:
        with self._viewer_lock:
            self._viewer_sockets.discard(sock)

    def close_viewers(self) -> None:
        """Shut down every viewer socket so a thread blocked in `sendall` returns now."""
        with self._viewer_lock:
            sockets = list(self._viewer_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already gone
                sock.shutdown(socket.SHUT_RDWR)


class StreamRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PixelopolisStream/1"
    server: StreamHttpServer

    def setup(self) -> None:
        super().setup()
        config = self.server.config
        # Bounds both an idle keep-alive connection and a viewer whose socket stops draining.
        self.connection.settimeout(config.send_timeout_s)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Stdlib errors (bad request line, unsupported method) as our JSON body too."""
        self.close_connection = True
        self._send_json(code, _error(f"http_{code}", message or HTTPStatus(code).phrase))

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urlsplit(self.path)
        route = {
            "/health": self._health,
            "/stream": self._stream,
            "/snapshot.jpg": self._snapshot,
        }.get(url.path)
        if route is None:
            self._send_json(404, _error("not_found", f"no such path: {url.path}"))
            return
        route(parse_qs(url.query))

    # -- routes --------------------------------------------------------------------------

    def _health(self, _query: dict[str, list[str]]) -> None:
        hub = self.server.hub
        self._send_json(
            200,
            {"viewers": hub.viewers, "frames": hub.kept_frames, "encoded": hub.encoded_frames},
        )

    def _snapshot(self, query: dict[str, list[str]]) -> None:
        if not self._allowed(query):
            return
        jpeg = self.server.hub.snapshot(SNAPSHOT_WAIT_S)
        if jpeg is None:
            self._send_json(503, _error("no_frame", "the car has not published a frame yet"))
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(jpeg)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(jpeg)

    def _stream(self, query: dict[str, list[str]]) -> None:
        if not self._allowed(query):
            return
        hub = self.server.hub
        try:
            with hub.viewer() as viewer:
                self._serve_viewer(viewer)
        except TooManyViewers as exc:
            self._send_json(503, _error("too_many_viewers", str(exc)), retry_after=5)
        except HubClosed:
            self._send_json(503, _error("stopping", "the stream is stopping"))

    def _serve_viewer(self, viewer: Any) -> None:
        sock = self.connection
        buffer_bytes = self.server.config.send_buffer_bytes
        if buffer_bytes:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer_bytes)
        self.close_connection = True  # the body ends only when the connection does
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store, no-cache, must-revalidate")
        self.send_header("Pragma", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.server.track_viewer(sock)
        log.info("viewer %s connected", self.address_string())
        sent = 0
        try:
            while (part := viewer.next_part()) is not None:
                sock.sendall(part)  # the timeout bounds the whole call
                sent += 1
        except TimeoutError:
            log.warning(
                "viewer %s dropped: socket blocked for %.1f s",
                self.address_string(),
                self.server.config.send_timeout_s,
            )
        except OSError as exc:
            log.info("viewer %s left (%s)", self.address_string(), exc.__class__.__name__)
        finally:
            self.server.untrack_viewer(sock)
            log.info("viewer %s done after %d frames", self.address_string(), sent)

    # -- helpers -------------------------------------------------------------------------

    def _allowed(self, query: dict[str, list[str]]) -> bool:
        """Check the token (query `token=` or `Authorization: Bearer`); answer 401/403 if not."""
        authorize = self.server.authorize
        if authorize is None:
            return True
        token = _token(query, self.headers.get("Authorization"))
        try:
            ok = bool(authorize(token))
        except Exception:
            log.exception("stream authorize callback failed; denying")
            ok = False
        if ok:
            return True
        if token is None:
            self._send_json(401, _error("missing_token", "this stream needs ?token=<stream token>"))
        else:
            self._send_json(403, _error("bad_token", "the stream token is not valid for this car"))
        return False

    def _send_json(self, status: int, body: dict[str, Any], *, retry_after: int = 0) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if retry_after:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _token(query: dict[str, list[str]], authorization: str | None) -> str | None:
    values = query.get("token")
    if values and values[0]:
        return values[0]
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
