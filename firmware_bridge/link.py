"""A synchronous connection to the board, built on the official `dynamixel-sdk`.

Every transaction waits for the board's status packet, so a lost command is an error
(BoardTimeoutError), never a silent success. Timeouts, corrupt replies and the board's
own CRC-error status are retried up to `retries` times; refusals (range, access, ...)
are raised at once as BoardStatusError.

Not thread-safe: one thread owns a BoardLink (SerialMotorBoard's I/O thread does).
"""

from __future__ import annotations

import contextlib
import logging
import select
import termios
import time
from collections.abc import Callable
from typing import TypeVar

import serial
from dynamixel_sdk import (
    COMM_RX_CORRUPT,
    COMM_RX_TIMEOUT,
    COMM_SUCCESS,
    PortHandler,
    Protocol2PacketHandler,
)

from firmware_bridge.control_table import ControlTable, control_table
from firmware_bridge.errors import (
    BoardCorruptReplyError,
    BoardDisconnectedError,
    BoardError,
    BoardStatusError,
    BoardTimeoutError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
ERR_CRC = 0x03
ERR_ALERT = 0x80
TELEMETRY_FIRST, TELEMETRY_LAST = "torque_enable", "uptime_ms"
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)


class _PortHandler(PortHandler):
    """The SDK's port with a configurable reply timeout and a wait that yields the CPU.

    The stock handler waits 34 ms for a reply (two 16 ms FTDI latency timers) and
    busy-polls; the board talks over USB CDC / a pty, so we wait `reply_timeout_ms`
    and block in select() between polls.
    """

    def __init__(self, port_name: str, reply_timeout_ms: float) -> None:
        super().__init__(port_name)
        self.reply_timeout_ms = reply_timeout_ms

    def setPacketTimeout(self, packet_length: int) -> None:  # noqa: N802 (SDK name)
        self.packet_start_time = self.getCurrentTime()
        self.packet_timeout = self.tx_time_per_byte * packet_length + self.reply_timeout_ms

    def readPort(self, length: int) -> bytes:  # noqa: N802 (SDK name)
        data = self.ser.read(length)
        if not data:
            select.select([self.ser.fileno()], [], [], 0.0005)
        return data


class StuffingPacketHandler(Protocol2PacketHandler):
    """dynamixel-sdk's Protocol 2.0 handler with transmit-side byte stuffing that works.

    In dynamixel-sdk 4.1.0 `txPacket` calls `addStuffing(txpacket)` and ignores the
    result; when stuffing lengthens the packet the new list is lost and the packet
    goes out unstuffed (FF FF FD left in the parameters, LEN too short). Here the
    stuffed packet is copied back into the caller's list, which is what txPacket
    expects. Receiving (removeStuffing) works in place and is left alone.
    """

    def addStuffing(self, packet: list[int]) -> list[int]:  # noqa: N802 (SDK name)
        stuffed = super().addStuffing(list(packet))
        packet[:] = stuffed
        return packet


class BoardLink:
    """Named-register reads and writes on one board over one serial port."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 1_000_000,
        board_id: int | None = None,
        retries: int = 2,
        reply_timeout_ms: float = 10.0,
    ) -> None:
        self.table: ControlTable = control_table()
        self.port_name = port
        self.baudrate = baudrate
        self.board_id = self.table.default_id if board_id is None else board_id
        self.retries = retries
        self.reply_timeout_ms = reply_timeout_ms
        self.packet = StuffingPacketHandler()
        self._port: _PortHandler | None = None
        self.retried = 0
        self.alert = False

    # ----------------------------------------------------------------- port
    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        port = _PortHandler(self.port_name, self.reply_timeout_ms)
        try:
            ok = port.setBaudRate(self.baudrate)  # opens the port
        except _PORT_ERRORS as exc:
            raise BoardDisconnectedError(f"cannot open {self.port_name}: {exc}") from exc
        if not ok:
            raise BoardDisconnectedError(f"{self.port_name}: unsupported baud rate {self.baudrate}")
        self._port = port

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None and port.ser is not None:
            with contextlib.suppress(*_PORT_ERRORS):
                port.closePort()

    def __enter__(self) -> BoardLink:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- transactions
    def _transact(self, what: str, call: Callable[[PortHandler], tuple[T, int, int]]) -> T:
        if self._port is None:
            raise BoardDisconnectedError(f"{self.port_name} is not open")
        last: BoardError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
            try:
                value, result, error = call(self._port)
            except _PORT_ERRORS as exc:
                self.close()
                raise BoardDisconnectedError(f"{self.port_name} vanished: {exc}") from exc
            except BoardCorruptReplyError as exc:
                last = exc
                continue
            if result == COMM_RX_TIMEOUT:
                last = BoardTimeoutError(f"{what}: no reply within {self.reply_timeout_ms} ms")
                continue
            if result == COMM_RX_CORRUPT:
                last = BoardCorruptReplyError(f"{what}: corrupt reply")
                continue
            if result != COMM_SUCCESS:
                last = BoardError(f"{what}: {self.packet.getTxRxResult(result)}")
                continue
            self.alert = bool(error & ERR_ALERT)
            code = error & 0x7F
            if code == ERR_CRC:
                last = BoardCorruptReplyError(f"{what}: the board received a corrupt packet")
                continue
            if code:
                raise BoardStatusError(code, what)
            return value
        assert last is not None
        log.debug("%s failed after %d attempts: %s", what, self.retries + 1, last)
        raise last

    def ping(self) -> int:
        """The board's model number (checks it answers at all)."""
        return self._transact("ping", lambda port: self.packet.ping(port, self.board_id))

    def read_span(self, address: int, length: int) -> bytes:
        def call(port: PortHandler) -> tuple[bytes, int, int]:
            data, result, error = self.packet.readTxRx(port, self.board_id, address, length)
            if result == COMM_SUCCESS and not error & 0x7F and len(data) != length:
                raise BoardCorruptReplyError(f"read {address}+{length}: got {len(data)} bytes")
            return bytes(data), result, error

        return self._transact(f"read {address}+{length}", call)

    def write_span(self, address: int, data: list[int]) -> None:
        def call(port: PortHandler) -> tuple[None, int, int]:
            result, error = self.packet.writeTxRx(port, self.board_id, address, len(data), data)
            return None, result, error

        self._transact(f"write {address}+{len(data)}", call)

    def read(self, name: str) -> int:
        reg = self.table[name]
        return reg.decode(self.read_span(reg.address, reg.size))

    def read_registers(self, first: str, last: str) -> dict[str, int]:
        """Registers first..last (by address) in one read."""
        address, length = self.table.span(first, last)
        return self.table.decode_span(address, self.read_span(address, length))

    def write(self, name: str, value: int) -> None:
        reg = self.table[name]
        self.write_span(reg.address, reg.encode(value))

    def write_goals(self, left_mm_s: int, right_mm_s: int) -> None:
        """Both wheel goals in one 8-byte write, so the wheels change together."""
        left, right = self.table["goal_velocity_left"], self.table["goal_velocity_right"]
        assert right.address == left.address + left.size
        self.write_span(left.address, left.encode(left_mm_s) + right.encode(right_mm_s))

    def read_telemetry(self) -> dict[str, int]:
        """Every RAM register (torque_enable .. uptime_ms) in one read."""
        return self.read_registers(TELEMETRY_FIRST, TELEMETRY_LAST)

    def wait_until_answers(self, timeout_s: float) -> int:
        """Ping until the board answers; returns its model number."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.ping()
            except (BoardTimeoutError, BoardCorruptReplyError):
                if time.monotonic() >= deadline:
                    raise
