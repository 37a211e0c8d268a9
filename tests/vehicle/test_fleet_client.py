"""FleetClient against a stub (contract details) and a real `pixelopolis server` process."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from city import default_city
from server.embedded import free_port
from tests.helpers.server_process import running_server
from vehicle.fleet_client import FleetClient, FleetClientConfig, FleetError, FleetUnreachableError

KEY = "vehicle-fleet-key-0123456789"


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def client_for(base: str, **kw: Any) -> FleetClient:
    config = FleetClientConfig(server_url=base, fleet_key=KEY, heartbeat_s=0.2, **kw)
    return FleetClient(config)


def test_config_names_the_bad_field():
    with pytest.raises(ValueError, match="^server_url:"):
        FleetClientConfig(server_url="localhost:8000")
    with pytest.raises(ValueError, match="^heartbeat_s:"):
        FleetClientConfig(heartbeat_s=0)
    with pytest.raises(ValueError, match="^name:"):
        FleetClientConfig(name="")
    assert FleetClientConfig(server_url="http://h:1/").api_base == "http://h:1/api/v1"
    assert FleetClientConfig(server_url="http://h:1/api/v1").api_base == "http://h:1/api/v1"


def test_set_status_refuses_unknown_states():
    client = client_for("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="^state:"):
        client.set_status("flying", "A")


def test_register_with_the_server_down_raises_unreachable():
    client = client_for(f"http://127.0.0.1:{free_port()}", timeout_s=0.5)
    with pytest.raises(FleetUnreachableError):
        client.register()
    assert not client.online


# --------------------------------------------------------------------------- stub server


class _Stub(ThreadingHTTPServer):
    """Answers from a script: `answers[(method, path)]` is a list of (status, body) to pop."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StubHandler)
        self.answers: dict[tuple[str, str], list[tuple[int, dict | None]]] = {}
        self.seen: list[tuple[str, str, Any]] = []
        self.lock = threading.Lock()

    def answer(self, method: str, path: str, body: Any) -> tuple[int, dict | None]:
        with self.lock:
            self.seen.append((method, path, body))
            script = self.answers.get((method, path), [])
            if len(script) > 1:
                return script.pop(0)
            return script[0] if script else (404, _err("not_found", "no such route"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _err(code: str, message: str = "x") -> dict:
    return {"error": {"code": code, "message": message}}


class _StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Stub

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0].removeprefix("/api/v1")
        status, body = self.server.answer(self.command, path, json.loads(raw) if raw else None)
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 (http.server's naming)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[_Stub]:
    server = _Stub()
    server.answers[("POST", "/devices")] = [(201, {"id": "car-1", "token": "tok"})]
    server.answers[("PUT", "/cars/car-1/status")] = [(200, {})]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def stub_client(stub: _Stub) -> Iterator[FleetClient]:
    client = client_for(stub.url, retry_initial_s=0.01, retry_max_s=0.05)
    client.register()
    yield client
    client.close()


def test_reservations_contract(stub: _Stub, stub_client: FleetClient):
    stub.answers[("POST", "/reservations")] = [
        (201, {"node": "X"}),
        (409, _err("resource_busy")),
        (400, _err("unknown_node")),
    ]
    assert stub_client.reserve("X") is True
    assert stub_client.reserve("X") is False
    with pytest.raises(FleetError) as info:
        stub_client.reserve("X")
    assert (info.value.status, info.value.code) == (400, "unknown_node")
    assert ("POST", "/reservations", {"node": "X"}) in stub.seen

    stub.answers[("DELETE", "/reservations/X")] = [
        (200, {"node": "X"}),
        (404, _err("not_reserved")),
        (409, _err("not_holder")),
        (401, _err("bad_token")),
    ]
    stub_client.release("X")
    stub_client.release("X")  # 404: logged only
    stub_client.release("X")  # 409: logged only
    with pytest.raises(FleetError, match="bad_token"):
        stub_client.release("X")


def test_outbox_retries_in_order_and_drops_permanent_refusals(stub: _Stub, stub_client):
    stub.answers[("POST", "/bookings/b1/progress")] = [
        (503, _err("database_unavailable")),
        (429, _err("slow_down")),
        (200, {}),
        (409, _err("node_not_on_route")),  # permanent: dropped
        (200, {}),
    ]
    stub.answers[("POST", "/bookings/b1/arrived")] = [(500, None), (200, {})]
    for node in ("n1", "n2", "n3"):
        stub_client.report_progress("b1", node)
    stub_client.report_arrived("b1")
    assert stub_client.flush(5.0)
    assert stub_client.pending_reports == 0
    sent = [(p, b) for m, p, b in stub.seen if m == "POST" and p.startswith("/bookings")]
    assert sent == [
        ("/bookings/b1/progress", {"node": "n1"}),
        ("/bookings/b1/progress", {"node": "n1"}),
        ("/bookings/b1/progress", {"node": "n1"}),
        ("/bookings/b1/progress", {"node": "n2"}),
        ("/bookings/b1/progress", {"node": "n3"}),
        ("/bookings/b1/arrived", None),
        ("/bookings/b1/arrived", None),
    ]


def test_heartbeat_sends_the_latest_status(stub: _Stub, stub_client: FleetClient):
    stub_client.set_status("ready", "A", battery_v=11.5, stream_url="http://car:8001/stream")

    def heartbeats() -> list[Any]:
        with stub.lock:
            return [b for m, p, b in stub.seen if m == "PUT"]

    wait_until(lambda: len(heartbeats()) >= 3, timeout=3)
    assert heartbeats()[-1] == {
        "state": "ready",
        "node": "A",
        "battery_v": 11.5,
        "stream_url": "http://car:8001/stream",
    }
    assert stub_client.online


# --------------------------------------------------------------------------- real server


@pytest.fixture(scope="module")
def server_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("fleet-server")
    with running_server(data, fleet_key=KEY, extra=["--liveness-timeout", "5"]) as (base, _):
        yield base


def register_station(base: str) -> dict[str, str]:
    r = requests.post(
        f"{base}/devices",
        json={"kind": "station", "name": "s"},
        headers={"X-Fleet-Key": KEY},
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def book(base: str, station: dict[str, str], destination: str) -> requests.Response:
    return requests.post(
        f"{base}/bookings", json={"destination": destination}, headers=station, timeout=5
    )


@pytest.mark.slow
def test_a_trip_from_registration_to_arrival(server_base: str, tmp_path: Path):
    start, destination = sorted(default_city().nodes)[-2:]
    client = client_for(server_base, name="trip-car", state_file=tmp_path / "car.json")
    station = register_station(server_base)
    try:
        car_id = client.register()
        assert json.loads((tmp_path / "car.json").read_text())["id"] == car_id
        assert client.wait_assignment(0.2) is None
        client.set_status("ready", start, battery_v=12.1)
        wait_until(lambda: client.online)
        r = wait_for_booking(server_base, station, destination)
        booking = client.wait_assignment(5)
        assert booking is not None and booking["id"] == r["id"] and booking["car"] == car_id
        assert booking["route"] == client.route(start, destination)
        nodes = [step["node"] for step in booking["route"]["steps"]][1:]
        client.set_status("driving", start)
        for node in nodes:
            client.report_progress(booking["id"], node)
        client.report_arrived(booking["id"])
        assert client.flush(10)
        final = client.booking(booking["id"])
        assert final["status"] == "arrived" and final["passed"] == nodes
        with pytest.raises(FleetError) as info:
            client.booking("no-such-booking")
        assert info.value.status == 404
    finally:
        client.close()
    # a restarted car reuses its saved identity
    again = client_for(server_base, name="trip-car", state_file=tmp_path / "car.json")
    try:
        assert again.register() == car_id
    finally:
        again.close()


def wait_for_booking(base: str, station: dict[str, str], destination: str) -> dict[str, Any]:
    """Book as soon as the server counts the car ready (its first heartbeat landed)."""
    deadline = time.monotonic() + 5
    while True:
        r = book(base, station, destination)
        if r.status_code == 201 or time.monotonic() > deadline:
            assert r.status_code == 201, r.text
            return r.json()
        time.sleep(0.1)


@pytest.mark.slow
def test_a_stale_state_file_registers_again(server_base: str, tmp_path: Path):
    state = tmp_path / "car.json"
    state.write_text(json.dumps({"id": "gone", "token": "not-a-token", "name": "stale-car"}))
    client = client_for(server_base, name="stale-car", state_file=state)
    try:
        car_id = client.register()
        assert car_id != "gone"
        assert json.loads(state.read_text())["id"] == car_id
    finally:
        client.close()


@pytest.mark.slow
def test_wrong_fleet_key_is_a_typed_error(server_base: str):
    client = FleetClient(FleetClientConfig(server_url=server_base, fleet_key="wrong-key-000"))
    with pytest.raises(FleetError) as info:
        client.register()
    assert info.value.status == 401 and info.value.code == "bad_fleet_key"


@pytest.mark.slow
def test_reservations_on_the_real_server(server_base: str):
    node = sorted(default_city().nodes)[0]
    a, b = client_for(server_base, name="res-a"), client_for(server_base, name="res-b")
    try:
        for client in (a, b):
            client.register()
            client.set_status("paused", node)  # alive, but never claimed by a booking
        wait_until(lambda: a.online and b.online)
        time.sleep(0.3)  # both heartbeats landed
        try:
            granted = a.reserve(node)
        except FleetError as exc:
            if exc.code in ("not_found", "method_not_allowed"):
                pytest.skip("this server has no reservations yet")
            raise
        assert granted is True
        assert b.reserve(node) is False
        assert a.reserve(node) is True  # renewing one's own hold
        a.release(node)
        assert b.reserve(node) is True
        a.release(node)  # not the holder: logged, not raised
        b.release(node)
    finally:
        a.close()
        b.close()


@pytest.mark.slow
def test_reports_survive_a_server_outage(tmp_path: Path):
    """Reports queued while the server is down arrive after it returns, in order, all of them."""
    start, destination = sorted(default_city().nodes)[:2]
    port = free_port()
    slow_liveness = ["--liveness-timeout", "120"]
    client = client_for(f"http://127.0.0.1:{port}", name="outage-car", timeout_s=0.5)
    try:
        with running_server(tmp_path, fleet_key=KEY, port=port, extra=slow_liveness) as (base, _):
            station = register_station(base)
            client.register()
            client.set_status("ready", start)
            wait_until(lambda: client.online)
            booking = wait_for_booking(base, station, destination)
            assert client.wait_assignment(5)["id"] == booking["id"]
        # the server is gone
        nodes = [step["node"] for step in booking["route"]["steps"]][1:]
        for node in nodes:
            client.report_progress(booking["id"], node)
        client.report_arrived(booking["id"])
        assert not client.flush(1.0)
        assert client.pending_reports == len(nodes) + 1
        assert not client.online
        with pytest.raises(FleetUnreachableError):
            client.booking(booking["id"])
        with running_server(tmp_path, fleet_key=KEY, port=port, extra=slow_liveness) as (base, _):
            assert client.flush(15)
            final = requests.get(f"{base}/bookings/{booking['id']}", headers=station, timeout=5)
            assert final.json()["status"] == "arrived"
            assert final.json()["passed"] == nodes
            wait_until(lambda: client.online)
            client.close()  # before the server stops: its keep-alive connections end now
    finally:
        client.close()
