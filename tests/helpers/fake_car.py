"""A scripted car for station tests: real fleet API calls and a real MJPEG stream, no driving.

It registers through `POST /devices`, heartbeats its status, long-polls its assignment,
then "drives" the route by reporting each node after `leg_s`, and arrives. Its camera is a
`vehicle.stream.StreamServer` guarded by the booking's stream token, publishing frames
whose colour changes every frame (so a viewer can tell new frames from old ones).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import requests

from vehicle.stream import StreamAccess, StreamConfig, StreamServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FakeCarScript:
    """How the fake car behaves once booked."""

    leg_s: float = 0.6  # time to drive from one route node to the next
    start_delay_s: float = 0.5  # stays `assigned` this long before driving
    go_silent_after_nodes: int | None = None  # stop heartbeating (→ booking fails) after N nodes
    fps: float = 12.0


class FakeCar:
    def __init__(
        self,
        api_base: str,
        fleet_key: str,
        *,
        name: str,
        node: str,
        script: FakeCarScript | None = None,
        camera: Callable[[FakeCar, int], np.ndarray] | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.fleet_key = fleet_key
        self.name = name
        self.node = node
        self.script = script or FakeCarScript()
        self.state = "ready"
        self.car_id = ""
        self.trips: list[str] = []
        # The trip being driven: its route's node ids, the leg under way and when it began.
        self.route: list[str] = []
        self.leg = 0
        self.leg_started = 0.0
        self._camera = camera
        self._token = ""
        self._access = StreamAccess()
        self._stream = StreamServer(
            StreamConfig(host="127.0.0.1", port=0, max_fps=self.script.fps), authorize=self._access
        )
        self._stop = threading.Event()
        self._silent = threading.Event()
        self._threads: list[threading.Thread] = []
        self.stream_url = ""

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeCar:
        r = requests.post(
            f"{self.api_base}/devices",
            json={"kind": "car", "name": self.name},
            headers={"X-Fleet-Key": self.fleet_key},
            timeout=5,
        )
        r.raise_for_status()
        self.car_id, self._token = r.json()["id"], r.json()["token"]
        self.stream_url = self._stream.start() + "/stream"
        self._heartbeat()
        for target, name in (
            (self._heartbeat_loop, "heartbeat"),
            (self._camera_loop, "camera"),
            (self._drive_loop, "drive"),
        ):
            thread = threading.Thread(target=target, name=f"{self.name}-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._stream.stop()

    def __enter__(self) -> FakeCar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- threads ---------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _heartbeat(self) -> None:
        body = {
            "state": self.state,
            "node": self.node,
            "battery_v": 7.4,
            "stream_url": self.stream_url,
        }
        requests.put(
            f"{self.api_base}/cars/{self.car_id}/status",
            json=body,
            headers=self._headers(),
            timeout=5,
        )

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(0.3):
            if self._silent.is_set():
                continue
            try:
                self._heartbeat()
            except requests.RequestException as exc:
                log.debug("heartbeat failed: %s", exc)

    def _camera_loop(self) -> None:
        frame = np.zeros((120, 160, 3), np.uint8)
        i = 0
        while not self._stop.wait(1 / self.script.fps):
            i += 1
            if self._camera is not None:
                self._stream.publish(self._camera(self, i))
                continue
            frame[:] = ((i * 40) % 256, (i * 90) % 256, (i * 20 + 128) % 256)
            self._stream.publish(frame)

    def _drive_loop(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            try:
                r = session.get(
                    f"{self.api_base}/cars/{self.car_id}/assignment",
                    params={"wait": 1},
                    headers=self._headers(),
                    timeout=5,
                )
            except requests.RequestException:
                time.sleep(0.2)
                continue
            if r.status_code == 200:
                self._drive(session, r.json())

    def _drive(self, session: requests.Session, booking: dict) -> None:
        booking_id = booking["id"]
        self.trips.append(booking_id)
        self._access.set_booking_token(booking["stream_token"])
        steps = booking["route"]["steps"]
        self.route, self.leg, self.leg_started = [s["node"] for s in steps], 0, time.monotonic()
        if self._stop.wait(self.script.start_delay_s):
            return
        self.state = "driving"
        for count, step in enumerate(steps[1:], start=1):
            self.leg, self.leg_started = count - 1, time.monotonic()
            if self._stop.wait(self.script.leg_s):
                return
            if self._closed(session, booking_id):
                break
            silent_after = self.script.go_silent_after_nodes
            if silent_after is not None and count > silent_after:
                self._silent.set()
                self._stop.wait(30)
                return
            session.post(
                f"{self.api_base}/bookings/{booking_id}/progress",
                json={"node": step["node"]},
                headers=self._headers(),
                timeout=5,
            )
            self.node = step["node"]
        else:
            session.post(
                f"{self.api_base}/bookings/{booking_id}/arrived", headers=self._headers(), timeout=5
            )
        self._access.set_booking_token(None)
        self._stream.disconnect_viewers()
        self.state = "ready"

    def _closed(self, session: requests.Session, booking_id: str) -> bool:
        url = f"{self.api_base}/bookings/{booking_id}"
        r = session.get(url, headers=self._headers(), timeout=5)
        return r.status_code == 200 and r.json()["status"] not in ("assigned", "driving")
