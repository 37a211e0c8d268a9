"""A simulated car for the board firmware: two XL430 wheels, a battery, a button, LEDs.

It implements the hardware interface `firmware.device.Board` drives (see that module),
so the emulator runs the firmware's own logic against it. Thread-safe: the emulator
thread drives it while a simulator reads velocities and presses the button.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

STEP_RPM = 0.229  # XL430 velocity unit


@dataclass(frozen=True)
class SimHardwareConfig:
    """Physical parameters of the simulated car (defaults: XL430-W250 on a 3S LiPo)."""

    motor_max_rpm: float = 61.0
    motor_accel_rpm_per_s: float = 600.0
    motor_lag_s: float = 0.03
    coast_time_s: float = 0.2
    battery_full_mv: int = 12600
    battery_empty_mv: int = 9000
    battery_capacity_mah: float = 1800.0
    battery_initial_charge: float = 1.0
    battery_internal_ohm: float = 0.15
    idle_current_a: float = 0.12
    holding_current_a: float = 0.1
    current_per_rpm_a: float = 0.012
    button_press_s: float = 0.1

    def __post_init__(self) -> None:
        positive = (
            "motor_max_rpm",
            "motor_accel_rpm_per_s",
            "motor_lag_s",
            "coast_time_s",
            "battery_capacity_mah",
            "button_press_s",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)!r}")
        if not 0 <= self.battery_empty_mv < self.battery_full_mv:
            raise ValueError("battery_empty_mv: must be below battery_full_mv")
        if not 0.0 <= self.battery_initial_charge <= 1.0:
            raise ValueError("battery_initial_charge: must be within [0, 1]")
        for name in ("battery_internal_ohm", "idle_current_a", "holding_current_a"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must not be negative")
        if self.current_per_rpm_a < 0:
            raise ValueError("current_per_rpm_a: must not be negative")


class _Wheel:
    def __init__(self) -> None:
        self.goal = 0.0  # steps
        self.ramped = 0.0  # after the acceleration limit
        self.velocity = 0.0  # after the lag

    def step(self, dt: float, torque: bool, cfg: SimHardwareConfig) -> None:
        if torque:
            limit = cfg.motor_max_rpm / STEP_RPM
            target = max(-limit, min(limit, self.goal))
            dv = cfg.motor_accel_rpm_per_s / STEP_RPM * dt
            self.ramped += max(-dv, min(dv, target - self.ramped))
            self.velocity += (self.ramped - self.velocity) * min(1.0, dt / cfg.motor_lag_s)
        else:
            self.ramped = 0.0
            self.velocity *= math.exp(-dt / cfg.coast_time_s)
            if abs(self.velocity) < 0.5:
                self.velocity = 0.0


class SimulatedHardware:
    """The board's hardware as the firmware sees it, with hooks for a simulator."""

    def __init__(self, config: SimHardwareConfig | None = None) -> None:
        self.config = config or SimHardwareConfig()
        self._lock = threading.Lock()
        self._left = _Wheel()
        self._right = _Wheel()
        self._torque = False
        self._charge = self.config.battery_initial_charge
        self._battery_override: int | None = None
        self._button_held = False
        self._button_until = 0.0
        self._leds = 0
        self._status_led = False
        self._motors_fail = False
        self._external: tuple[float, float] | None = None

    # ------------------------------------------------ interface used by the firmware
    def motors_torque(self, on: bool) -> None:
        with self._lock:
            self._torque = bool(on)

    def motors_goal(self, left: int, right: int) -> None:
        with self._lock:
            self._left.goal = float(left)
            self._right.goal = float(right)

    def motors_present(self) -> tuple[int, int] | None:
        with self._lock:
            if self._motors_fail:
                return None
            if self._external is not None:
                return round(self._external[0]), round(self._external[1])
            return round(self._left.velocity), round(self._right.velocity)

    def battery_mv(self) -> int:
        with self._lock:
            if self._battery_override is not None:
                return self._battery_override
            cfg = self.config
            ocv = cfg.battery_empty_mv + (cfg.battery_full_mv - cfg.battery_empty_mv) * self._charge
            return max(0, round(ocv - 1000.0 * self._current_a() * cfg.battery_internal_ohm))

    def button(self) -> bool:
        with self._lock:
            return self._button_held or time.monotonic() < self._button_until

    def leds(self, user_mask: int, status_on: bool) -> None:
        with self._lock:
            self._leds = user_mask
            self._status_led = bool(status_on)

    # ------------------------------------------------ physics
    def _current_a(self) -> float:
        cfg = self.config
        rpm = (abs(self._left.velocity) + abs(self._right.velocity)) * STEP_RPM
        hold = 2 * cfg.holding_current_a if self._torque else 0.0
        return cfg.idle_current_a + hold + cfg.current_per_rpm_a * rpm

    def step(self, dt: float) -> None:
        """Advance the motors and the battery by dt seconds."""
        with self._lock:
            self._left.step(dt, self._torque, self.config)
            self._right.step(dt, self._torque, self.config)
            used_mah = self._current_a() * 1000.0 * dt / 3600.0
            self._charge = max(0.0, self._charge - used_mah / self.config.battery_capacity_mah)

    # ------------------------------------------------ hooks for simulators and tests
    def wheel_velocity_rpm(self) -> tuple[float, float]:
        with self._lock:
            if self._external is not None:
                return self._external[0] * STEP_RPM, self._external[1] * STEP_RPM
            return self._left.velocity * STEP_RPM, self._right.velocity * STEP_RPM

    def drive_externally(self, rpm: tuple[float, float] | None) -> None:
        """Let a simulator own the wheels: they turn at `rpm` (left, right) until None.

        A world that simulates the car's motion itself sets the wheels' true speed here,
        so the board reports what the world does (and the car's odometry agrees with it).
        """
        with self._lock:
            self._external = None if rpm is None else (rpm[0] / STEP_RPM, rpm[1] / STEP_RPM)

    def press_button(self) -> None:
        """A short press of the motor-enable button."""
        with self._lock:
            self._button_until = time.monotonic() + self.config.button_press_s

    def hold_button(self, held: bool) -> None:
        with self._lock:
            self._button_held = bool(held)

    def set_battery_mv(self, millivolts: int | None) -> None:
        """Force the battery reading (None returns to the drain model)."""
        with self._lock:
            self._battery_override = None if millivolts is None else int(millivolts)

    def set_charge(self, fraction: float) -> None:
        with self._lock:
            self._charge = max(0.0, min(1.0, float(fraction)))

    def fail_motors(self, failed: bool) -> None:
        """Make the wheel motors stop answering (fault MOTOR_ERROR)."""
        with self._lock:
            self._motors_fail = bool(failed)

    @property
    def torque(self) -> bool:
        with self._lock:
            return self._torque

    @property
    def led_state(self) -> tuple[int, bool]:
        with self._lock:
            return self._leds, self._status_led
