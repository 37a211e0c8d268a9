"""The car's side of the fleet API: registration, heartbeat, assignments and trip reports.

    client = FleetClient(FleetClientConfig(server_url="http://127.0.0.1:8000",
                                           fleet_key=KEY, name="car1"))
    client.register()                       # id + token; starts the two threads
    client.set_status("ready", node="A1")   # sent by the heartbeat thread
    booking = client.wait_assignment(10)    # long-poll; None if nothing came
    client.report_progress(booking["id"], "B2")   # queued, delivered in order
    client.report_arrived(booking["id"])
    client.close()

Threads and what they own:

- the **heartbeat** thread sends the latest status snapshot (`set_status`, lock-protected)
  every `heartbeat_s`, and at once when it changes;
- the **sender** thread owns delivery of the outbox (a lock-protected deque): it sends
  the oldest report until the server acknowledges it (2xx) or refuses it for good (a 4xx
  other than 408/429), retrying with exponential backoff capped at `retry_max_s`. While
  the server is unreachable nothing is lost and the order is kept.

Calls made by the caller (`wait_assignment`, `booking`, `route`, `reserve`, `release`)
raise `FleetError` on an error answer and `FleetUnreachableError` when no answer came.
Each thread has its own HTTP session (sessions are not shared between threads).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import requests

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
CAR_STATES = ("ready", "driving", "paused", "offline")
RETRY_STATUSES = {408, 429}
RETRY_CODES = {"booking_changed", "database_unavailable"}
MAX_WAIT_S = 60.0


class FleetError(Exception):
    """The server answered with an error (`status`, its error `code` and `message`)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class FleetUnreachableError(FleetError):
    """No answer from the server (connection refused, timeout, …): status 0."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "unreachable", message)


@dataclass(frozen=True)
class FleetClientConfig:
    """Where the fleet server is and how this car talks to it.

    `server_url` is the server's root (`http://host:8000`) or its API root
    (`…/api/v1`). `state_file`, if given, keeps the car's id and token across restarts.
    """

    server_url: str = "http://127.0.0.1:8000"
    fleet_key: str = ""
    name: str = "car"
    heartbeat_s: float = 0.5
    timeout_s: float = 2.0
    state_file: Path | None = None
    retry_initial_s: float = 0.1
    retry_max_s: float = 2.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.server_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"server_url: must be an http(s) URL, got {self.server_url!r}")
        if not self.name.strip() or len(self.name) > 64:
            raise ValueError(f"name: must be 1..64 characters, got {self.name!r}")
        for name in ("heartbeat_s", "timeout_s", "retry_initial_s", "retry_max_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")
        if self.retry_initial_s > self.retry_max_s:
            raise ValueError("retry_initial_s: must not exceed retry_max_s")

    @property
    def api_base(self) -> str:
        base = self.server_url.rstrip("/")
        return base if base.endswith(API_PREFIX) else base + API_PREFIX


@dataclass(frozen=True)
class CarStatus:
    state: str
    node: str
    battery_v: float | None = None
    stream_url: str | None = None
    from_node: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"state": self.state, "node": self.node}
        if self.from_node is not None:
            body["from_node"] = self.from_node
        if self.battery_v is not None:
            body["battery_v"] = self.battery_v
        if self.stream_url is not None:
            body["stream_url"] = self.stream_url
        return body


@dataclass(frozen=True)
class Report:
    """One trip event waiting in the outbox."""

    kind: Literal["progress", "arrived"]
    booking_id: str
    node: str | None = None


def _error_from(response: requests.Response) -> FleetError:
    code, message = f"http_{response.status_code}", response.reason or "error"
    try:
        detail = response.json().get("error", {})
        code, message = str(detail.get("code", code)), str(detail.get("message", message))
    except (ValueError, AttributeError):
        pass
    return FleetError(response.status_code, code, message)


def _is_permanent(error: FleetError) -> bool:
    """A refusal no retry will change (bad input, closed booking, wrong token)."""
    return (
        400 <= error.status < 500
        and error.status not in RETRY_STATUSES
        and error.code not in RETRY_CODES
    )


class FleetClient:
    """A car's connection to the fleet server (see the module docstring for the threads)."""

    def __init__(self, config: FleetClientConfig) -> None:
        self.config = config
        self.car_id: str | None = None
        self._token: str | None = None
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()  # guards _status, _online, _sessions
        self._status: CarStatus | None = None
        self._online = False
        self._status_changed = threading.Event()
        self._outbox: deque[Report] = deque()
        self._outbox_cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._service = "in_service"

    # ------------------------------------------------------------------ registration
    def register(self) -> str:
        """Get this car's id and token (saved ones if still valid), start the threads."""
        saved = self._load_state()
        if saved is not None and self._credentials_valid(*saved) is not False:
            self.car_id, self._token = saved
            log.info("fleet: reusing car id %s from %s", self.car_id, self.config.state_file)
        else:
            response = self._request(
                "POST",
                "/devices",
                json={"kind": "car", "name": self.config.name},
                headers={"X-Fleet-Key": self.config.fleet_key},
                authenticated=False,
            )
            body = self._expect(response, 201)
            self.car_id, self._token = body["id"], body["token"]
            self._save_state()
            log.info("fleet: registered as car %s", self.car_id)
        self._start_threads()
        return self.car_id

    def _credentials_valid(self, car_id: str, token: str) -> bool | None:
        """True/False if the server accepts the saved token; None if it cannot be asked."""
        self.car_id, self._token = car_id, token
        try:
            response = self._request("GET", f"/cars/{car_id}/assignment", params={"wait": 0})
        except FleetUnreachableError:
            return None
        if response.status_code in (200, 204):
            return True
        if response.status_code not in (401, 403, 404):
            return None
        log.warning("fleet: saved credentials refused (%d); new ones", response.status_code)
        return False

    def _load_state(self) -> tuple[str, str] | None:
        path = self.config.state_file
        if path is None or not path.exists():
            return None
        try:
            state = json.loads(path.read_text())
            if state.get("name") != self.config.name:
                return None
            return str(state["id"]), str(state["token"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("fleet: ignoring unreadable state file %s: %s", path, exc)
            return None

    def _save_state(self) -> None:
        path = self.config.state_file
        if path is None:
            return
        state = {"id": self.car_id, "token": self._token, "name": self.config.name}
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f)
        os.replace(tmp, path)

    # ------------------------------------------------------------------ status
    def set_status(
        self,
        state: str,
        node: str,
        battery_v: float | None = None,
        stream_url: str | None = None,
        from_node: str | None = None,
    ) -> None:
        """The status the heartbeat reports from now on (sent at once if it changed).

        `from_node`: the node the car came from (it stands on the road from_node → node),
        so the server can route it from its heading; None if unknown."""
        if state not in CAR_STATES:
            raise ValueError(f"state: must be one of {', '.join(CAR_STATES)}, got {state!r}")
        status = CarStatus(state, node, battery_v, stream_url, from_node)
        with self._lock:
            changed = self._status is None or (
                self._status.state,
                self._status.node,
                self._status.from_node,
            ) != (state, node, from_node)
            self._status = status
        if changed:
            self._status_changed.set()

    @property
    def online(self) -> bool:
        """Whether the last request (from any thread) got a non-5xx answer."""
        with self._lock:
            return self._online

    # ------------------------------------------------------------------ caller's requests
    def wait_assignment(self, wait_s: float) -> dict[str, Any] | None:
        """Long-poll for this car's open booking; None if none came within `wait_s`."""
        wait_s = max(0.0, min(MAX_WAIT_S, wait_s))
        response = self._request(
            "GET",
            f"/cars/{self._car()}/assignment",
            params={"wait": wait_s},
            timeout=wait_s + self.config.timeout_s,
        )
        if response.status_code == 204:
            return None
        return self._expect(response, 200)

    def booking(self, booking_id: str) -> dict[str, Any]:
        return self._expect(self._request("GET", f"/bookings/{quote(booking_id, safe='')}"), 200)

    def route(self, frm: str, to: str) -> dict[str, Any]:
        """The shortest route `{steps: [{node, sign, turn}], length_m}` between two nodes."""
        return self._expect(self._request("GET", "/routes", params={"from": frm, "to": to}), 200)

    def city_document(self) -> dict[str, Any]:
        """The city file the server routes over (`GET /city`)."""
        return self._expect(self._request("GET", "/city"), 200)

    def reroute(self, booking_id: str, node: str, from_node: str | None = None) -> dict[str, Any]:
        """Ask for a new route from `node` to the booking's destination; returns the booking.

        Reports still in the outbox are delivered first (up to `timeout_s`), so the server
        sees the passes of the old route before it changes."""
        self.flush(self.config.timeout_s)
        body: dict[str, Any] = {"node": node}
        if from_node is not None:
            body["from_node"] = from_node
        path = f"/bookings/{quote(booking_id, safe='')}/reroute"
        return self._expect(self._request("POST", path, json=body), 200)

    def reserve(self, node: str) -> bool:
        """Ask for exclusive use of a node (e.g. an intersection): False if another car holds it."""
        response = self._request("POST", "/reservations", json={"node": node})
        if 200 <= response.status_code < 300:
            return True
        error = _error_from(response)
        if response.status_code == 409 and error.code == "resource_busy":
            return False
        raise error

    def release(self, node: str) -> None:
        """Give a reserved node back; a reservation that was not ours or is gone is logged."""
        response = self._request("DELETE", f"/reservations/{quote(node, safe='')}")
        if 200 <= response.status_code < 300:
            return
        error = _error_from(response)
        if response.status_code in (404, 409):
            log.warning("fleet: release of %s refused: %s", node, error)
            return
        raise error

    # ------------------------------------------------------------------ outbox
    def report_progress(self, booking_id: str, node: str) -> None:
        """Queue "passed `node`" for the booking; delivered in order by the sender thread."""
        self._enqueue(Report("progress", booking_id, node))

    def report_arrived(self, booking_id: str) -> None:
        """Queue "arrived" for the booking; delivered after every earlier report."""
        self._enqueue(Report("arrived", booking_id))

    @property
    def pending_reports(self) -> int:
        with self._outbox_cond:
            return len(self._outbox)

    def flush(self, timeout_s: float) -> bool:
        """Wait until every queued report was delivered (or dropped); False on timeout."""
        with self._outbox_cond:
            return self._outbox_cond.wait_for(lambda: not self._outbox, timeout=timeout_s)

    def _enqueue(self, report: Report) -> None:
        with self._outbox_cond:
            self._outbox.append(report)
            self._outbox_cond.notify_all()

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Stop both threads and close the sessions. Undelivered reports are logged."""
        self._stop.set()
        self._status_changed.set()
        with self._outbox_cond:
            self._outbox_cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.config.timeout_s + 1.0)
        self._threads = []
        if self.pending_reports:
            log.warning("fleet: closing with %d undelivered reports", self.pending_reports)
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> FleetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_threads(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._heartbeat_loop, name="fleet-heartbeat", daemon=True),
            threading.Thread(target=self._sender_loop, name="fleet-sender", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------ heartbeat thread
    def _heartbeat_loop(self) -> None:
        failing = False
        while not self._stop.is_set():
            self._status_changed.clear()
            with self._lock:
                status = self._status
            if status is not None:
                try:
                    response = self._request(
                        "PUT", f"/cars/{self._car()}/status", json=status.body()
                    )
                    if response.status_code != 200:
                        raise _error_from(response)
                    self._note_service(response)
                    if failing:
                        log.info("fleet: heartbeat accepted again")
                    failing = False
                except FleetError as exc:
                    level = logging.DEBUG if failing else logging.WARNING
                    log.log(level, "fleet: heartbeat failed: %s", exc)
                    failing = True
            self._status_changed.wait(self.config.heartbeat_s)

    def _note_service(self, response: requests.Response) -> None:
        try:
            service = response.json().get("service")
        except ValueError:
            return
        if isinstance(service, str):
            with self._lock:
                if service != self._service:
                    log.info("fleet: operator set this car %s", service)
                self._service = service

    @property
    def service(self) -> str:
        """What the operator says of this car: `in_service`, `paused` or `out_of_service`
        (as of the last heartbeat answer; `in_service` until one came)."""
        with self._lock:
            return self._service

    # ------------------------------------------------------------------ sender thread
    def _sender_loop(self) -> None:
        delay = self.config.retry_initial_s
        while not self._stop.is_set():
            with self._outbox_cond:
                self._outbox_cond.wait_for(lambda: self._outbox or self._stop.is_set())
                if self._stop.is_set():
                    return
                report = self._outbox[0]
            if self._deliver(report, retrying=delay > self.config.retry_initial_s):
                with self._outbox_cond:
                    self._outbox.popleft()  # only this thread removes reports
                    self._outbox_cond.notify_all()
                delay = self.config.retry_initial_s
            else:
                self._stop.wait(delay)
                delay = min(delay * 2, self.config.retry_max_s)

    def _deliver(self, report: Report, *, retrying: bool) -> bool:
        """Send one report: True when it is done with (acknowledged or refused for good)."""
        path = f"/bookings/{quote(report.booking_id, safe='')}/{report.kind}"
        body = {"node": report.node} if report.kind == "progress" else None
        try:
            response = self._request("POST", path, json=body)
        except FleetUnreachableError as exc:
            level = logging.DEBUG if retrying else logging.WARNING
            log.log(level, "fleet: %s report waits, server unreachable: %s", report.kind, exc)
            return False
        if 200 <= response.status_code < 300:
            return True
        error = _error_from(response)
        if _is_permanent(error):
            log.error("fleet: %s report %s dropped, refused: %s", report.kind, report, error)
            return True
        log.log(logging.DEBUG if retrying else logging.WARNING, "fleet: will retry: %s", error)
        return False

    # ------------------------------------------------------------------ HTTP
    def _car(self) -> str:
        if self.car_id is None:
            raise RuntimeError("register() first")
        return self.car_id

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        authenticated: bool = True,
    ) -> requests.Response:
        all_headers = dict(headers or {})
        if authenticated:
            all_headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = self._session().request(
                method,
                self.config.api_base + path,
                json=json,
                params=params,
                headers=all_headers,
                timeout=timeout or self.config.timeout_s,
            )
        except requests.RequestException as exc:
            self._set_online(False)
            raise FleetUnreachableError(f"{method} {path}: {type(exc).__name__}") from exc
        self._set_online(response.status_code < 500)
        return response

    def _set_online(self, online: bool) -> None:
        with self._lock:
            self._online = online

    @staticmethod
    def _expect(response: requests.Response, status: int) -> dict[str, Any]:
        if response.status_code != status:
            raise _error_from(response)
        try:
            return response.json()
        except ValueError as exc:
            raise FleetError(response.status_code, "malformed_response", str(exc)) from exc
