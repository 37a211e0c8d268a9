"""A relay between two ptys drops, flips and inserts bytes; no wrong goal is ever applied."""

from __future__ import annotations

import contextlib
import os
import random
import select
import threading
import time
import tty

from firmware_bridge.emulator import BoardEmulator
from firmware_bridge.serial_board import SerialBoardConfig, SerialMotorBoard


class CorruptingRelay:
    """Host <-> [this pty | relay | board's pty], damaging `rate` of the bytes each way."""

    def __init__(self, board_path: str, rate: float, seed: int) -> None:
        self.rate = rate
        self.rng = random.Random(seed)
        self.board = os.open(board_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.board)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.damaged = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def corrupt(self, data: bytes) -> bytes:
        out = bytearray()
        for b in data:
            r = self.rng.random()
            if r < self.rate / 3:
                self.damaged += 1
                continue  # dropped
            if r < 2 * self.rate / 3:
                self.damaged += 1
                out.append(b ^ self.rng.randint(1, 255))  # flipped
                continue
            if r < self.rate:
                self.damaged += 1
                out.append(self.rng.randint(0, 255))  # inserted
            out.append(b)
        return bytes(out)

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master, self.board], [], [], 0.01)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                target = self.board if fd == self.master else self.master
                with contextlib.suppress(OSError):
                    os.write(target, self.corrupt(data))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for fd in (self.board, self.master, self.slave):
            os.close(fd)


def test_one_percent_damage_never_applies_a_wrong_goal_and_commands_flow():
    emu = BoardEmulator()
    emu.start()
    board_logic = emu._board
    applied: list[tuple[int, int]] = []
    original_write = board_logic.write

    def recording_write(address, data, now_ms):
        before = (board_logic.get("goal_velocity_left"), board_logic.get("goal_velocity_right"))
        error = original_write(address, data, now_ms)
        after = (board_logic.get("goal_velocity_left"), board_logic.get("goal_velocity_right"))
        if error == 0 and after != before:
            applied.append(after)
        return error

    board_logic.write = recording_write
    relay = CorruptingRelay(emu.path, rate=0.01, seed=4)
    sent = {(0, 0)}
    config = SerialBoardConfig(port=relay.path, cycle_hz=200, reply_timeout_ms=10)
    board = SerialMotorBoard(config)
    try:
        board.connect()
        board.set_torque(True)
        deadline = time.monotonic() + 2.5
        k = 0
        while time.monotonic() < deadline:
            k = k % 500 + 1
            sent.add((k, -k))
            board.set_wheel_speeds(k / 1000, -k / 1000)
            time.sleep(0.005)
        stats = board.stats()
    finally:
        board.disconnect()
        relay.close()
        emu.stop()
    wrong = [goal for goal in applied if goal not in sent]
    assert not wrong, f"applied goals nobody sent: {wrong[:5]}"
    assert relay.damaged > 20, "the relay should have damaged bytes"
    assert emu.register("rx_crc_errors") > 0
    assert len(set(applied)) > 50, "commands must still flow"
    assert stats.cycles > 100 and stats.errors + stats.retries > 0
