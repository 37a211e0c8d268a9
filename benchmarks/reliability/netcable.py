"""A network "cable" between a car and the fleet server that a drill can cut.

A TCP relay on loopback: the car is given the relay's URL, the relay forwards every
connection to the server. Cutting it models a Wi-Fi drop, not a refused port: packets
vanish. Connections already open stop moving bytes either way; new connections are still
accepted (the kernel would have completed the handshake anyway) but never forwarded, so
the car's requests time out as they do when a network goes away. Reconnecting closes
every connection from before or during the cut (their TCP state would not survive a real
outage) and forwards new ones again, so a request sent into the void is never delivered
late.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_POLL_S = 0.1


class NetworkCable:
    """Relay `127.0.0.1:<port>` → `target` (an http URL); `cut()` and `reconnect()`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(_POLL_S)
        self.host, self.port = self._listener.getsockname()[:2]
        self._target: tuple[str, int] | None = None
        self._lock = threading.Lock()
        self._generation = 0  # bumped at every reconnect: older connections are closed
        self._cut = False
        self._closed = threading.Event()
        self._open: set[socket.socket] = set()
        self.forwarded = 0  # connections relayed to the server
        self.swallowed = 0  # connections accepted while cut, never forwarded
        self._thread = threading.Thread(target=self._accept_loop, name="cable", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect_to(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"target: expected http://host:port, got {url!r}")
        self._target = (parts.hostname, parts.port)

    @property
    def is_cut(self) -> bool:
        with self._lock:
            return self._cut

    def cut(self) -> None:
        with self._lock:
            self._cut = True
        log.info("cable cut")

    def reconnect(self) -> None:
        with self._lock:
            self._cut = False
            self._generation += 1
            stale = list(self._open)
        for sock in stale:  # everything from before or during the cut
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        log.info("cable reconnected (%d stale connections closed)", len(stale))

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        self._listener.close()
        with self._lock:
            stale = list(self._open)
        for sock in stale:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> NetworkCable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ relay
    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            generation, cut = self._generation, self._cut
            self._open.add(client)
        upstream: socket.socket | None = None
        try:
            if cut or self._target is None:
                with self._lock:
                    self.swallowed += 1
                self._hold(client, generation)
                return
            upstream = socket.create_connection(self._target, timeout=5)
            with self._lock:
                self._open.add(upstream)
                self.forwarded += 1
            self._pump(client, upstream, generation)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(client)
                if upstream is not None:
                    self._open.discard(upstream)
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    def _alive(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation and not self._closed.is_set()

    def _hold(self, client: socket.socket, generation: int) -> None:
        """Keep a connection made during the cut open, unanswered, until the reconnect."""
        while self._alive(generation):
            self._closed.wait(_POLL_S)

    def _pump(self, client: socket.socket, upstream: socket.socket, generation: int) -> None:
        peers = {client: upstream, upstream: client}
        while self._alive(generation):
            if self.is_cut:  # bytes stop moving; the connection dies at the reconnect
                self._closed.wait(_POLL_S)
                continue
            readable, _, _ = select.select(list(peers), [], [], _POLL_S)
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                if self.is_cut:  # cut while this chunk was in flight: it is lost
                    break
                peers[sock].sendall(data)
