"""A virtual control board on a pseudo-terminal, running the firmware's own logic.

    emu = BoardEmulator(EmulatorConfig(link="/tmp/car1-board"))
    path = emu.start()          # open this (or the link) with the host driver
    emu.present_velocity_mps()  # how fast the simulated wheels turn
    emu.stop()

One thread per board, so a simulator process can run several. The firmware's
`device.Board` handles the protocol and the safety rules; `SimulatedHardware` stands
in for the XL430 wheels, battery, button and LEDs.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from firmware_bridge.firmware import control_table as ct
from firmware_bridge.firmware.device import Board
from firmware_bridge.sim_hardware import SimHardwareConfig, SimulatedHardware

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmulatorConfig:
    """How the virtual board runs. `link` is a symlink made to the pty (replaced if present)."""

    link: str | None = None
    board_id: int = ct.DEFAULT_ID
    wheel_diameter_mm: int = 66
    update_period_s: float = 0.005
    hardware: SimHardwareConfig = field(default_factory=SimHardwareConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.board_id <= 252:
            raise ValueError(f"board_id: must be within 0..252, got {self.board_id}")
        if not 20 <= self.wheel_diameter_mm <= 300:
            raise ValueError(
                f"wheel_diameter_mm: must be within 20..300, got {self.wheel_diameter_mm}"
            )
        if not 0.0005 <= self.update_period_s <= 0.05:
            raise ValueError(
                f"update_period_s: must be within 0.0005..0.05, got {self.update_period_s}"
            )
        if self.link is not None and not str(self.link).strip():
            raise ValueError("link: must be a path")


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


class BoardEmulator:
    """A Protocol 2.0 board on a pty, driving a simulated pair of wheels."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.hardware = SimulatedHardware(self.config.hardware)
        self._lock = threading.Lock()
        self._goal_written = threading.Condition(self._lock)
        self._board = Board(self.hardware, _now_ms())
        self._board.set("id", self.config.board_id)
        self._board.set("wheel_diameter_mm", self.config.wheel_diameter_mm)
        self._board.update(_now_ms())  # sample the inputs once before anyone asks
        self._goal_writes = 0
        self._master: int | None = None
        self._slave: int | None = None
        self._path: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Open the pty, start the board thread; returns the device path to open."""
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._path = os.ttyname(slave)
        if self.config.link:
            link = Path(self.config.link)
            tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self._path)
            os.replace(tmp, link)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"board-{self._path}", daemon=True)
        self._thread.start()
        log.info("board emulator on %s", self._path)
        return self._path

    def stop(self) -> None:
        """Stop the thread and close the pty (the host sees the device vanish)."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        if self.config.link:
            link = Path(self.config.link)
            try:
                if os.readlink(link) == self._path:
                    link.unlink()
            except OSError:
                pass

    def __enter__(self) -> BoardEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def path(self) -> str | None:
        return self._path

    # ------------------------------------------------------------------ the board thread
    def _run(self) -> None:
        master = self._master
        assert master is not None
        period = self.config.update_period_s
        last = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], period)
            data = b""
            if ready:
                try:
                    data = os.read(master, 4096)
                except BlockingIOError:
                    data = b""
                except OSError as exc:
                    if exc.errno != errno.EIO:
                        raise
                    data = b""
            now = time.monotonic()
            with self._lock:
                reply = b""
                if data:
                    before = self._board.last_goal_ms
                    reply = self._board.feed(data, int(now * 1000))
                    if self._board.last_goal_ms != before:
                        self._goal_writes += 1
                        self._goal_written.notify_all()
                if now - last >= period:
                    self.hardware.step(now - last)
                    self._board.update(int(now * 1000))
                    last = now
            if reply:
                self._send(master, reply)

    def _send(self, master: int, data: bytes) -> None:
        try:
            os.write(master, data)
        except (BlockingIOError, OSError) as exc:
            # nobody reads the port (host gone): a status packet is not worth blocking for
            log.debug("board reply dropped: %s", exc)

    # ------------------------------------------------------------------ for simulators
    def register(self, name: str) -> int:
        """The current value of a control-table register."""
        with self._lock:
            return self._board.get(name)

    def present_velocity_mps(self) -> tuple[float, float]:
        """(left, right) wheel surface speeds in m/s, + = forward (exact, not rounded)."""
        left_rpm, right_rpm = self.hardware.wheel_velocity_rpm()
        with self._lock:
            circumference_m = math.pi * self._board.get("wheel_diameter_mm") / 1000.0
        return left_rpm / 60.0 * circumference_m, right_rpm / 60.0 * circumference_m

    def set_present_velocity_mps(self, left_mps: float, right_mps: float) -> None:
        """A simulator's true wheel speeds (m/s): what the board reports from now on."""
        with self._lock:
            circumference_m = math.pi * self._board.get("wheel_diameter_mm") / 1000.0
        rpm = (left_mps / circumference_m * 60.0, right_mps / circumference_m * 60.0)
        self.hardware.drive_externally(rpm)

    def commanded_mps(self) -> tuple[float, float]:
        """The wheel speeds the board is told to drive (m/s): its goal registers while
        torque is on, else zero. The watchdog and the safety rules zero them as on a car."""
        with self._lock:
            if not self._board.get("torque_enable"):
                return 0.0, 0.0
            left = self._board.get("goal_velocity_left")
            right = self._board.get("goal_velocity_right")
        return left / 1000.0, right / 1000.0

    @property
    def goal_writes(self) -> int:
        """How many valid goal writes the board has accepted."""
        with self._lock:
            return self._goal_writes

    def wait_for_goal_write(self, after: int, timeout: float) -> bool:
        """Block until more than `after` goal writes were accepted (or timeout)."""
        with self._goal_written:
            return self._goal_written.wait_for(lambda: self._goal_writes > after, timeout)

    def press_button(self) -> None:
        self.hardware.press_button()

    def hold_button(self, held: bool) -> None:
        self.hardware.hold_button(held)

    def set_battery_mv(self, millivolts: int | None) -> None:
        self.hardware.set_battery_mv(millivolts)

    def fail_motors(self, failed: bool) -> None:
        self.hardware.fail_motors(failed)

    @property
    def leds(self) -> tuple[int, bool]:
        """(user LED mask, status LED on)."""
        return self.hardware.led_state


def check_link_path(link: str) -> None:
    """Raise ValueError if `link` cannot be (re)made into a symlink to the pty."""
    path = Path(link)
    if not path.parent.is_dir():
        raise ValueError(f"--link: folder {path.parent} does not exist")
    if path.exists() and not path.is_symlink():
        raise ValueError(f"--link: {path} exists and is not a symlink; refusing to replace it")


def run_emulator(
    config: EmulatorConfig,
    stop: threading.Event,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run one virtual board until `stop` is set; `on_ready` gets the pty path."""
    if config.link:
        check_link_path(config.link)
    with BoardEmulator(config) as emulator:
        assert emulator.path is not None
        if on_ready is not None:
            on_ready(emulator.path)
        stop.wait()
