"""The simulated world: several cars in one city, stepped together."""

from __future__ import annotations

import math

from city import City
from sim.dynamics import CarState, DynamicsConfig, step
from sim.pose import Pose


class World:
    """Cars in a city, each with its own wheel-speed command; `step` advances them all.

    Cars do not collide physically; each sees the others through `others` (for its
    camera view and its detector).
    """

    def __init__(self, city: City, *, dynamics: DynamicsConfig = DynamicsConfig()) -> None:  # noqa: B008
        self._city = city
        self._dynamics = dynamics
        self._states: dict[str, CarState] = {}
        self._commands: dict[str, tuple[float, float]] = {}
        self._time_s = 0.0

    @property
    def city(self) -> City:
        return self._city

    @property
    def time_s(self) -> float:
        """Simulated seconds since the world was made."""
        return self._time_s

    @property
    def car_ids(self) -> tuple[str, ...]:
        return tuple(self._states)

    @property
    def dynamics(self) -> DynamicsConfig:
        return self._dynamics

    def add_car(self, car_id: str, pose: Pose) -> None:
        """Place a car at rest; `ValueError` if the id is taken."""
        if car_id in self._states:
            raise ValueError(f"car {car_id!r} is already in the world")
        self._states[car_id] = CarState(pose, wheel_base_m=self._dynamics.geometry.wheel_base_m)
        self._commands[car_id] = (0.0, 0.0)

    def remove_car(self, car_id: str) -> None:
        self._require(car_id)
        del self._states[car_id], self._commands[car_id]

    def set_command(self, car_id: str, left_mps: float, right_mps: float) -> None:
        """The wheel speeds the car's motors aim for from now on (held until changed)."""
        self._require(car_id)
        self._commands[car_id] = (float(left_mps), float(right_mps))

    def step(self, dt: float) -> None:
        """Advance every car by `dt` seconds."""
        self._states = {
            car_id: step(state, self._commands[car_id], dt, self._dynamics)
            for car_id, state in self._states.items()
        }
        self._time_s += dt

    def state(self, car_id: str) -> CarState:
        return self._require(car_id)

    def others(self, car_id: str) -> list[tuple[str, Pose]]:
        """The other cars' ids and poses."""
        self._require(car_id)
        return [(other, s.pose) for other, s in self._states.items() if other != car_id]

    def nearest_node(self, pose: Pose) -> str:
        """The id of the city node closest to the pose's position."""
        return min(
            self._city.nodes.values(), key=lambda n: math.hypot(n.x - pose.x, n.y - pose.y)
        ).id

    def _require(self, car_id: str) -> CarState:
        try:
            return self._states[car_id]
        except KeyError:
            raise KeyError(f"no car {car_id!r} in the world") from None
