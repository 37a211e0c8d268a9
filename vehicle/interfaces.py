"""The two kinds of hardware the car's loop talks to: a camera and a motor board.

The runtime loop only knows these abstract classes. A USB camera, a phone's IP-camera
app, the simulator's camera endpoint, a real serial board and the board emulator all
sit behind them, so a simulated car runs exactly the loop a real one does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Self

import numpy as np


class _Device(ABC):
    """Hardware that is connected, used, then closed; usable as a context manager."""

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class CameraFrame:
    """One captured image.

    `image` is HxWx3 uint8 BGR; `timestamp` is `time.monotonic()` at capture (or at
    receipt, for network sources); `sequence` counts frames from 0 per source; `meta`
    carries what the source said about the frame (e.g. `X-Sim-Time`, `X-Frame`).
    """

    image: np.ndarray
    timestamp: float
    sequence: int
    meta: dict[str, str] = field(default_factory=dict)


class CameraSource(_Device):
    """A source of frames. `connect` first, then `read` in the loop, `close` at the end."""

    @abstractmethod
    def connect(self) -> None:
        """Open the source; raise `CameraError` if it cannot be opened."""

    @abstractmethod
    def read(self, timeout_s: float) -> CameraFrame | None:
        """The next frame newer than the last one returned, or None if none came in time.

        Never blocks for (much) longer than `timeout_s`.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the source. Safe to call twice."""


class CameraError(Exception):
    """A camera source could not be opened."""


@dataclass(frozen=True)
class BoardTelemetry:
    """The motor board's state as last read. Speeds in m/s (+ = forward), voltage in V.

    `battery_v` is None until the board has been read once. `fault` is the board's fault
    bit mask and `fault_names` the names of its set bits (e.g. ("WATCHDOG",)); `error`
    is the last link error, None while the link works.
    """

    connected: bool
    left_mps: float
    right_mps: float
    battery_v: float | None
    fault: int
    fault_names: tuple[str, ...]
    torque_enabled: bool
    error: str | None


class MotorBoard(_Device):
    """Wheel speeds out, telemetry in. No call but `connect` and `close` may block the loop."""

    @abstractmethod
    def connect(self) -> None:
        """Start talking to the board; raise `MotorBoardError` if it does not answer."""

    @abstractmethod
    def set_wheel_speeds(self, left_mps: float, right_mps: float) -> None:
        """The newest wheel goals in m/s (+ = forward). Returns at once.

        Call it every loop iteration: a board that stops receiving goals stops the wheels.
        """

    @abstractmethod
    def stop(self) -> None:
        """Zero both wheel goals now (torque stays as it is)."""

    @abstractmethod
    def set_torque(self, enabled: bool) -> None:
        """Power (or unpower) the wheel motors. A deliberate, one-off decision."""

    @abstractmethod
    def telemetry(self) -> BoardTelemetry:
        """The latest snapshot. Returns at once."""

    @abstractmethod
    def close(self) -> None:
        """Stop the wheels (best effort) and release the board. Safe to call twice."""


class MotorBoardError(Exception):
    """A motor board could not be reached."""
