"""The car's motor board behind the `MotorBoard` interface.

    board, cleanup = make_board("/dev/ttyACM0")   # or "emulator" for an in-process board
    with board:
        board.set_torque(True)
        board.set_wheel_speeds(0.2, 0.2)          # every loop iteration
    if cleanup:
        cleanup()

The serial driver (`firmware_bridge.serial_board.SerialMotorBoard`) already owns the
port in its own I/O thread; this module only adapts its telemetry to `BoardTelemetry`
and its errors to `MotorBoardError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from firmware_bridge.control_table import Fault
from firmware_bridge.emulator import BoardEmulator, EmulatorConfig
from firmware_bridge.errors import BoardError
from firmware_bridge.serial_board import SerialBoardConfig, SerialMotorBoard, Telemetry
from vehicle.interfaces import BoardTelemetry, MotorBoard, MotorBoardError

log = logging.getLogger(__name__)

EMULATOR_SPEC = "emulator"


def fault_names(fault: int) -> tuple[str, ...]:
    """Names of the set fault bits, lowest bit first (unknown bits as `BIT<n>`)."""
    names = []
    for bit in range(8):
        if fault & (1 << bit):
            try:
                names.append(Fault(1 << bit).name or f"BIT{bit}")
            except ValueError:
                names.append(f"BIT{bit}")
    return tuple(names)


def to_board_telemetry(t: Telemetry) -> BoardTelemetry:
    """The driver's snapshot in the interface's terms (no battery until the first read)."""
    fault = int(t.fault)
    return BoardTelemetry(
        connected=t.connected,
        left_mps=t.left_mps,
        right_mps=t.right_mps,
        battery_v=t.battery_v if t.received_at > 0 else None,
        fault=fault,
        fault_names=fault_names(fault),
        torque_enabled=t.torque_enabled,
        error=t.error,
    )


class SerialMotorBoardAdapter(MotorBoard):
    """A real (or emulated) board on a serial device, through `SerialMotorBoard`."""

    def __init__(self, config: SerialBoardConfig) -> None:
        self.config = config
        self._driver = SerialMotorBoard(config)

    def connect(self) -> None:
        try:
            self._driver.connect()
        except BoardError as exc:
            raise MotorBoardError(str(exc)) from exc

    def set_wheel_speeds(self, left_mps: float, right_mps: float) -> None:
        self._driver.set_wheel_speeds(left_mps, right_mps)

    def stop(self) -> None:
        self._driver.set_wheel_speeds(0.0, 0.0)

    def set_torque(self, enabled: bool) -> None:
        self._driver.set_torque(enabled)

    def telemetry(self) -> BoardTelemetry:
        return to_board_telemetry(self._driver.telemetry())

    def close(self) -> None:
        self._driver.disconnect()


def make_board(
    spec: str, config: SerialBoardConfig | None = None
) -> tuple[MotorBoard, Callable[[], None] | None]:
    """A board from a command-line spec, and a cleanup to call after closing it (or None).

    `spec` is a serial device path, or `emulator` for a `BoardEmulator` started here on a
    pty (the cleanup stops it). `config` supplies the link settings; its port is replaced.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"board: expected a serial device path or {EMULATOR_SPEC!r}, got {spec!r}")
    spec = spec.strip()
    base = config or SerialBoardConfig()
    if spec == EMULATOR_SPEC:
        emulator = BoardEmulator(EmulatorConfig())
        path = emulator.start()
        log.info("motor board: in-process emulator on %s", path)
        return SerialMotorBoardAdapter(replace(base, port=path)), emulator.stop
    if not Path(spec).exists():
        raise ValueError(
            f"board: {spec!r} is neither {EMULATOR_SPEC!r} nor an existing serial device"
        )
    return SerialMotorBoardAdapter(replace(base, port=spec)), None
