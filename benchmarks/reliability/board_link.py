"""Fault drill: pull the board's USB cable out while the car drives, and plug it back.

The board (the emulator, on its own pty) keeps running; between it and the host sits a
"cable": a second pty, linked at a fixed path like /dev/ttyACM0, relayed byte for byte.
Unplugging closes that pty and removes the link (the device vanishes, as it does when a
USB cable comes out); plugging in makes a new one at the same path. Meanwhile the car's
loop keeps asking for 0.2 m/s every 20 ms. Per cycle: how long until the board's
watchdog has zeroed both wheel goals (target: within `watchdog_ms` + 100 ms) with its
WATCHDOG fault set, and until the wheels are at rest (they slow down at the board's
acceleration limit); how long until the driver reports the link down; how long after the
replug until the driver is connected again (target: 2 s) and, once the car turns torque
back on (the driver leaves it off after a reconnect unless told otherwise), until the
wheels turn again. Nothing here needs the fleet server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import tempfile
import threading
import time
import tty
from pathlib import Path
from typing import Any

SPEED = 0.2
RECONNECT_TARGET_S = 2.0
REST_MPS = 0.005  # "at rest": under 5 mm/s


class UsbCable:
    """The host side of the board's link: a pty at `path`, relayed to the board's pty."""

    def __init__(self, board_path: str, path: Path) -> None:
        self.path = path
        self.board = os.open(board_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.board)
        self._fds: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._fds = (master, slave)
        tmp = self.path.with_suffix(".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.path)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, args=(master,), daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._fds is not None:
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds = None

    def _relay(self, master: int) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([master, self.board], [], [], 0.01)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                with contextlib.suppress(OSError):
                    os.write(self.board if fd == master else master, data)

    def close(self) -> None:
        self.unplug()
        with contextlib.suppress(OSError):
            os.close(self.board)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cycles", type=int, default=5, help="unplug/replug cycles (default 5)")
    p.add_argument("--unplugged-s", type=float, default=1.0, help="seconds without the cable")


def check_arguments(args: argparse.Namespace) -> None:
    if not 1 <= args.cycles <= 100:
        raise ValueError(f"cycles: must be within 1..100, got {args.cycles}")
    if not 0.5 <= args.unplugged_s <= 60:
        raise ValueError(f"unplugged-s: must be within 0.5..60, got {args.unplugged_s}")


def _until(condition: Any, timeout_s: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if condition():
            return round(time.monotonic() - t0, 3)
        time.sleep(0.002)
    return None


def _first_times(conditions: dict[str, Any], timeout_s: float) -> dict[str, float | None]:
    """When each condition first held, in seconds from now (None: not within the timeout)."""
    t0 = time.monotonic()
    first: dict[str, float | None] = dict.fromkeys(conditions)
    while time.monotonic() - t0 < timeout_s and None in first.values():
        for name, condition in conditions.items():
            if first[name] is None and condition():
                first[name] = round(time.monotonic() - t0, 3)
        time.sleep(0.002)
    return first


def run(args: argparse.Namespace) -> dict[str, Any]:
    from firmware_bridge.control_table import Fault
    from firmware_bridge.emulator import BoardEmulator, EmulatorConfig
    from firmware_bridge.serial_board import SerialBoardConfig, SerialMotorBoard

    cycles: list[dict[str, Any]] = []
    stop_loop = threading.Event()
    with (
        tempfile.TemporaryDirectory(prefix="drill-board-") as tmp,
        BoardEmulator(EmulatorConfig()) as emu,
    ):
        assert emu.path is not None
        cable = UsbCable(emu.path, Path(tmp) / "ttyACM0")
        cable.plug()
        board = SerialMotorBoard(SerialBoardConfig(port=str(cable.path), reconnect_interval_s=0.1))
        watchdog_ms = emu.register("watchdog_ms")

        def car_loop() -> None:  # the car's loop: a goal every 20 ms, whatever happens
            while not stop_loop.wait(0.02):
                board.set_wheel_speeds(SPEED, SPEED)

        def turning() -> bool:
            left, right = emu.present_velocity_mps()
            return abs(left - SPEED) < 0.02 and abs(right - SPEED) < 0.02

        def goals_zeroed() -> bool:
            return emu.commanded_mps() == (0.0, 0.0)

        def at_rest() -> bool:
            return goals_zeroed() and max(map(abs, emu.present_velocity_mps())) < REST_MPS

        loop = threading.Thread(target=car_loop, daemon=True)
        try:
            board.connect()
            board.set_torque(True)
            loop.start()
            if _until(turning, 5) is None:
                raise RuntimeError("the wheels never turned before the first unplug")
            for _ in range(args.cycles):
                cable.unplug()
                seen = _first_times(
                    {
                        "zeroed": goals_zeroed,
                        "rest": at_rest,
                        "down": lambda: not board.telemetry().connected,
                    },
                    timeout_s=5,
                )
                fault = bool(emu.register("fault") & Fault.WATCHDOG)
                zero_s, rest_s, down_s = seen["zeroed"], seen["rest"], seen["down"]
                time.sleep(args.unplugged_s)
                still = at_rest()
                cable.plug()
                back_s = _until(lambda: board.telemetry().connected, 10)
                torque_after = board.telemetry().torque_enabled
                board.set_torque(True)  # the car decides to drive on
                turning_s = _until(turning, 5)
                cycles.append(
                    {
                        "goals_zeroed_s": zero_s,
                        "wheels_at_rest_s": rest_s,
                        "watchdog_fault": fault,
                        "driver_saw_it_s": down_s,
                        "stayed_stopped": still,
                        "reconnected_s": back_s,
                        "torque_after_reconnect": torque_after,
                        "turning_again_s": turning_s,
                    }
                )
        finally:
            stop_loop.set()
            if loop.is_alive():
                loop.join()
            board.disconnect()
            cable.close()
    failures = []
    limit = watchdog_ms / 1000 + 0.1
    for i, c in enumerate(cycles, 1):
        if c["goals_zeroed_s"] is None or c["goals_zeroed_s"] > limit:
            failures.append(
                f"cycle {i}: the watchdog zeroed the goals after {c['goals_zeroed_s']} s"
            )
        if c["wheels_at_rest_s"] is None:
            failures.append(f"cycle {i}: the wheels did not come to rest")
        if not c["watchdog_fault"] or not c["stayed_stopped"]:
            failures.append(f"cycle {i}: no watchdog fault, or the wheels moved while unplugged")
        if c["reconnected_s"] is None or c["reconnected_s"] > RECONNECT_TARGET_S:
            failures.append(f"cycle {i}: reconnected after {c['reconnected_s']} s")
        if c["turning_again_s"] is None:
            failures.append(f"cycle {i}: the wheels did not turn again")
    return {
        "drill": "board-link",
        "settings": {"cycles": args.cycles, "unplugged_s": args.unplugged_s},
        "watchdog_ms": watchdog_ms,
        "cycles": cycles,
        "failures": failures,
        "passed": not failures,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"Board watchdog: {result['watchdog_ms']} ms. Times from the unplug (first three) "
        "and from the replug (last two).",
        "",
        "| cycle | goals zeroed (s) | wheels at rest (s) | WATCHDOG fault | driver saw it (s) "
        "| stayed stopped | reconnected (s) | torque after reconnect | turning again (s) |",
        "|---:|---:|---:|---|---:|---|---:|---|---:|",
    ]
    for i, c in enumerate(result["cycles"], 1):
        lines.append(
            f"| {i} | {c['goals_zeroed_s']} | {c['wheels_at_rest_s']} | {c['watchdog_fault']} "
            f"| {c['driver_saw_it_s']} "
            f"| {c['stayed_stopped']} | {c['reconnected_s']} | {c['torque_after_reconnect']} "
            f"| {c['turning_again_s']} |"
        )
    return "\n".join(lines)
