"""The car's motor board over serial: the interface the vehicle's motor output uses.

    board = SerialMotorBoard(SerialBoardConfig(port="/dev/ttyACM0"))
    board.connect()                      # raises BoardDisconnectedError if nobody answers
    board.set_torque(True)
    board.set_wheel_speeds(0.2, 0.25)    # m/s, returns at once
    t = board.telemetry()                # latest snapshot, returns at once
    board.disconnect()

A background I/O thread owns the port. The car's loop only touches a lock-protected
goal slot and telemetry snapshot, so it never waits on the serial line. Each cycle
the thread writes the goals (one 8-byte write, acknowledged) and reads every RAM
register back in one read, checking the board holds the goals it was sent. If the
device vanishes the thread closes it and reopens the same path until it returns.

Goals older than `goal_timeout_s` are not repeated: if the car's loop stalls, the
board's watchdog stops the wheels, exactly as if the host had died.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

from firmware_bridge.control_table import Fault
from firmware_bridge.errors import BoardDisconnectedError, BoardError, BoardStatusError
from firmware_bridge.link import BoardLink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SerialBoardConfig:
    """Where the board is and how the host talks to it."""

    port: str = "/dev/ttyACM0"
    baudrate: int = 1_000_000
    board_id: int = 200
    cycle_hz: float = 100.0
    retries: int = 2
    reply_timeout_ms: float = 10.0
    goal_timeout_s: float = 0.2
    connect_timeout_s: float = 2.0
    reconnect_interval_s: float = 0.2
    max_consecutive_errors: int = 10
    restore_torque_on_reconnect: bool = False

    def __post_init__(self) -> None:
        if not self.port:
            raise ValueError("port: must name a serial device")
        if self.baudrate <= 0:
            raise ValueError(f"baudrate: must be positive, got {self.baudrate}")
        if not 0 <= self.board_id <= 252:
            raise ValueError(f"board_id: must be within 0..252, got {self.board_id}")
        if not 1.0 <= self.cycle_hz <= 1000.0:
            raise ValueError(f"cycle_hz: must be within 1..1000, got {self.cycle_hz}")
        if not 0 <= self.retries <= 10:
            raise ValueError(f"retries: must be within 0..10, got {self.retries}")
        if not 1.0 <= self.reply_timeout_ms <= 1000.0:
            raise ValueError(
                f"reply_timeout_ms: must be within 1..1000, got {self.reply_timeout_ms}"
            )
        for name in ("goal_timeout_s", "connect_timeout_s", "reconnect_interval_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")
        if self.max_consecutive_errors < 1:
            raise ValueError("max_consecutive_errors: must be at least 1")


@dataclass(frozen=True)
class Telemetry:
    """The board's state as last read. Speeds in m/s (+ = forward), voltage in V."""

    connected: bool = False
    left_mps: float = 0.0
    right_mps: float = 0.0
    goal_left_mps: float = 0.0
    goal_right_mps: float = 0.0
    battery_v: float = 0.0
    button: bool = False
    torque_enabled: bool = False
    fault: Fault = Fault(0)
    leds: int = 0
    received_at: float = 0.0  # time.monotonic() of the read; 0.0 = never
    error: str | None = None  # the last link error, None once a cycle succeeds


@dataclass(frozen=True)
class LinkStats:
    cycles: int = 0
    errors: int = 0
    retries: int = 0
    reconnects: int = 0
    readback_mismatches: int = 0
    last_cycle_s: float = 0.0


class SerialMotorBoard:
    """Wheel speeds out, telemetry in, through a background I/O thread."""

    def __init__(self, config: SerialBoardConfig | None = None) -> None:
        self.config = config or SerialBoardConfig()
        self._lock = threading.Lock()
        self._goal: tuple[int, int] | None = None
        self._goal_at = 0.0
        self._torque_request: bool | None = None
        self._led_request: int | None = None
        self._torque_wanted = False
        self._velocity_limit = 2000
        self._telemetry = Telemetry()
        self._stats = LinkStats()
        self._stop = threading.Event()
        self._first_contact = threading.Event()
        self._thread: threading.Thread | None = None
        self._link = BoardLink(
            self.config.port,
            baudrate=self.config.baudrate,
            board_id=self.config.board_id,
            retries=self.config.retries,
            reply_timeout_ms=self.config.reply_timeout_ms,
        )

    # --------------------------------------------------------------- car-facing API
    def connect(self) -> None:
        """Start the I/O thread; raise BoardDisconnectedError if no telemetry in time."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._first_contact.clear()
        self._thread = threading.Thread(target=self._run, name="motor-board-io", daemon=True)
        self._thread.start()
        if not self._first_contact.wait(self.config.connect_timeout_s):
            error = self.telemetry().error
            self._shutdown(stop_motors=False)
            raise BoardDisconnectedError(
                f"no board answered on {self.config.port} within "
                f"{self.config.connect_timeout_s} s ({error or 'no reply'})"
            )

    def set_wheel_speeds(self, left_mps: float, right_mps: float) -> None:
        """The newest goal (m/s, + = forward); sent by the I/O thread. Never blocks."""
        with self._lock:
            limit = self._velocity_limit
            left = max(-limit, min(limit, round(left_mps * 1000.0)))
            right = max(-limit, min(limit, round(right_mps * 1000.0)))
            self._goal = (left, right)
            self._goal_at = time.monotonic()

    def set_torque(self, enabled: bool) -> None:
        """Ask the board to power (or unpower) the wheel motors. Never blocks.

        Enabling also clears a BUTTON fault: call it only on a deliberate decision,
        never in a loop, or the button stops meaning "stop".
        """
        with self._lock:
            self._torque_request = bool(enabled)
            self._torque_wanted = bool(enabled)

    def set_leds(self, mask: int) -> None:
        """User LEDs: bit 0 green, bit 1 yellow, bit 2 red. Never blocks."""
        if not 0 <= mask <= 7:
            raise ValueError(f"mask: must be within 0..7, got {mask}")
        with self._lock:
            self._led_request = mask

    def telemetry(self) -> Telemetry:
        with self._lock:
            return self._telemetry

    def stats(self) -> LinkStats:
        with self._lock:
            return replace(self._stats, retries=self._link.retried)

    def disconnect(self) -> None:
        """Stop the wheels (best effort), then stop the thread and close the port."""
        self._shutdown(stop_motors=True)

    def __enter__(self) -> SerialMotorBoard:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    # --------------------------------------------------------------- I/O thread
    def _shutdown(self, stop_motors: bool) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join()
        if stop_motors and self._link.is_open:
            try:
                self._link.write_goals(0, 0)
                self._link.write("torque_enable", 0)
            except BoardError as exc:
                log.warning("could not stop the wheels on disconnect: %s", exc)
        self._link.close()
        with self._lock:
            self._telemetry = replace(self._telemetry, connected=False)

    def _bump(self, **changes: int | float) -> None:
        with self._lock:
            s = self._stats
            values = {
                k: (getattr(s, k) + v if k != "last_cycle_s" else v) for k, v in changes.items()
            }
            self._stats = replace(s, **values)

    def _set_error(self, message: str, connected: bool) -> None:
        with self._lock:
            self._telemetry = replace(self._telemetry, error=message, connected=connected)

    def _open(self, reconnect: bool) -> bool:
        try:
            self._link.open()
            self._link.ping()
            limit = self._link.read("velocity_limit")
        except BoardError as exc:
            self._link.close()
            self._set_error(str(exc), connected=False)
            return False
        with self._lock:
            self._velocity_limit = limit
            if reconnect and self.config.restore_torque_on_reconnect and self._torque_wanted:
                self._torque_request = True
        if reconnect:
            self._bump(reconnects=1)
            log.info("board on %s is back", self.config.port)
        return True

    def _run(self) -> None:
        period = 1.0 / self.config.cycle_hz
        consecutive = 0
        ever_connected = False
        while not self._stop.is_set():
            if not self._link.is_open:
                if not self._open(reconnect=ever_connected):
                    self._stop.wait(self.config.reconnect_interval_s)
                    continue
                ever_connected = True
                consecutive = 0
            started = time.monotonic()
            try:
                self._cycle(started)
                consecutive = 0
                self._first_contact.set()
            except BoardDisconnectedError as exc:
                log.warning("board link lost: %s", exc)
                self._link.close()
                self._set_error(str(exc), connected=False)
                self._bump(errors=1)
                continue
            except BoardError as exc:
                consecutive += 1
                self._bump(errors=1)
                self._set_error(str(exc), connected=True)
                log.debug("board cycle failed: %s", exc)
                if consecutive >= self.config.max_consecutive_errors:
                    log.warning("%d failed cycles in a row: reopening the port", consecutive)
                    self._link.close()
                    self._set_error(str(exc), connected=False)
                    continue
            elapsed = time.monotonic() - started
            self._bump(last_cycle_s=elapsed)
            self._stop.wait(max(0.0, period - elapsed))

    def _cycle(self, now: float) -> None:
        with self._lock:
            torque = self._torque_request
            leds = self._led_request
            fresh = self._goal is not None and now - self._goal_at <= self.config.goal_timeout_s
            goal = self._goal if fresh else None
        if torque is not None:
            self._send_request("torque_enable", int(torque))
            with self._lock:
                if self._torque_request == torque:
                    self._torque_request = None
        if leds is not None:
            self._send_request("led", leds)
            with self._lock:
                if self._led_request == leds:
                    self._led_request = None
        if goal is not None:
            self._link.write_goals(*goal)
        regs = self._link.read_telemetry()
        fault = Fault(regs["fault"])
        if goal is not None and Fault.WATCHDOG not in fault:
            back = (regs["goal_velocity_left"], regs["goal_velocity_right"])
            if back != goal:
                self._bump(readback_mismatches=1)
                log.warning("board holds goals %s, sent %s: resending", back, goal)
        telemetry = Telemetry(
            connected=True,
            left_mps=regs["present_velocity_left"] / 1000.0,
            right_mps=regs["present_velocity_right"] / 1000.0,
            goal_left_mps=regs["goal_velocity_left"] / 1000.0,
            goal_right_mps=regs["goal_velocity_right"] / 1000.0,
            battery_v=regs["battery_voltage"] / 1000.0,
            button=bool(regs["button"]),
            torque_enabled=bool(regs["torque_enable"]),
            fault=fault,
            leds=regs["led"],
            received_at=time.monotonic(),
            error=None,
        )
        with self._lock:
            self._telemetry = telemetry
        self._bump(cycles=1)

    def _send_request(self, name: str, value: int) -> None:
        try:
            self._link.write(name, value)
        except BoardStatusError as exc:
            # refused (e.g. torque while the battery is low): report, do not insist
            log.warning("board refused %s = %d: %s", name, value, exc)
            self._set_error(str(exc), connected=True)
