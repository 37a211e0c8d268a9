"""Control-board link speed: write both wheel goals + read all telemetry, back to back.

The board is the emulator (`pixelopolis board emulate`) in its own process, reached
over a pty through the host driver (dynamixel-sdk). The port is opened at 1 Mbit/s,
but a pty ignores the baud rate: on a real NUCLEO the 12 + 41 bytes of one cycle
add about 0.53 ms of wire time at 1 Mbit/s. Prints a Markdown table.

    .venv/bin/python benchmarks/board.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_bridge.link import BoardLink  # noqa: E402
from firmware_bridge.serial_board import SerialBoardConfig, SerialMotorBoard  # noqa: E402

PIXELOPOLIS_OLD_RATE = 1 / 0.035  # 9600 baud, 35 ms sleep per command


def start_emulator(link: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pixelopolis",
            "--log-level",
            "WARNING",
            "board",
            "emulate",
            "--link",
            str(link),
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc


def round_trips(port: str, seconds: float) -> list[float]:
    times = []
    with BoardLink(port, baudrate=1_000_000) as link:
        link.ping()
        link.write("torque_enable", 1)
        end = time.monotonic() + seconds
        k = 0
        while time.monotonic() < end:
            k = (k + 1) % 400
            start = time.perf_counter()
            link.write_goals(k, -k)
            link.read_telemetry()
            times.append(time.perf_counter() - start)
        link.write("torque_enable", 0)
    return times


def driver_rate(port: str, seconds: float) -> tuple[float, int]:
    """Cycles/s the background I/O thread sustains when asked for 1000 Hz."""
    config = SerialBoardConfig(port=port, cycle_hz=1000)
    with SerialMotorBoard(config) as board:
        before = board.stats().cycles
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            board.set_wheel_speeds(0.1, 0.1)
            time.sleep(0.01)
        stats = board.stats()
    return (stats.cycles - before) / seconds, stats.errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        link = Path(tmp) / "board"
        proc = start_emulator(link)
        try:
            times = round_trips(str(link), args.seconds)
            rate, errors = driver_rate(str(link), args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    ms = sorted(t * 1000 for t in times)
    p99 = ms[int(0.99 * (len(ms) - 1))]
    sustained = len(ms) / sum(times)
    where = f"Python {platform.python_version()} on {platform.machine()}"
    print(f"Board link, {where}, {args.seconds:g} s per measure, emulator in its own process,")
    print("pty opened at 1 Mbit/s (a pty ignores the baud rate)\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| round trips measured | {len(ms)} |")
    print(f"| round trip p50 (write goals + read telemetry) | {statistics.median(ms):.2f} ms |")
    print(f"| round trip p99 | {p99:.2f} ms (target < 5 ms) |")
    print(f"| round trip max | {ms[-1]:.2f} ms |")
    print(f"| back-to-back cycles/s | {sustained:.0f} (target >= 200) |")
    print(f"| driver I/O thread at 1000 Hz asked | {rate:.0f} cycles/s, {errors} errors |")
    print(f"| old Pixelopolis link | {PIXELOPOLIS_OLD_RATE:.0f} commands/s, no reply |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
