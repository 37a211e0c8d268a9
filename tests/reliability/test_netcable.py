"""The drills' network cable: cut, nothing gets through (not even late); reconnected, it does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from benchmarks.reliability.netcable import NetworkCable


class _Counter(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.hits.append(body.decode())
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (_Counter,), {"hits": hits})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", hits
    srv.shutdown()
    srv.server_close()


def test_a_cut_cable_delivers_nothing_then_or_later(server) -> None:
    url, hits = server
    with NetworkCable() as cable:
        cable.connect_to(url)
        session = requests.Session()  # keeps its connection open across the cut
        assert session.post(cable.url, data="before", timeout=2).text == "ok"
        cable.cut()
        for n in range(3):  # the open connection, then new ones
            with pytest.raises(requests.exceptions.ReadTimeout):
                session.post(cable.url, data=f"during-{n}", timeout=0.5)
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(cable.url, data="during-new", timeout=0.5)
        cable.reconnect()
        assert session.post(cable.url, data="after", timeout=2).text == "ok"
        assert hits == ["before", "after"]  # nothing sent into the cut arrived, even late
        assert cable.swallowed >= 1


def test_connect_to_needs_a_host_and_port() -> None:
    with NetworkCable() as cable, pytest.raises(ValueError, match="host:port"):
        cable.connect_to("http://localhost")
