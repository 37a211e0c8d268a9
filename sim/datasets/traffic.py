"""Other cars in a generated scene: some parked at the roadside, some driving their own routes."""

from __future__ import annotations

import numpy as np

from city import City, wheel_speeds
from sim.expert import ExpertConfig, ExpertDriver
from sim.path import RoutePath
from sim.pose import Pose
from sim.render import CAR_COLOURS, CarBody
from sim.routes import random_route, start_pose
from sim.world import World


class Traffic:
    """Cars other than the ego car, added to `world` under ids `traffic-<n>`."""

    def __init__(
        self,
        city: City,
        world: World,
        rng: np.random.Generator,
        *,
        count: int,
        avoid: RoutePath | None = None,
    ) -> None:
        self.city = city
        self.world = world
        self.rng = rng
        self._drivers: dict[str, ExpertDriver] = {}
        self._colours: dict[str, tuple[int, int, int]] = {}
        for n in range(int(rng.integers(0, count + 1)) if count else 0):
            car_id = f"traffic-{n}"
            self._colours[car_id] = CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))]
            if rng.random() < 0.5:
                world.add_car(car_id, self._parked_pose(avoid))
            else:
                path = RoutePath.from_route(city, random_route(city, rng))
                world.add_car(car_id, start_pose(city, path, rng))
                speed = float(rng.uniform(0.1, 0.18))
                config = ExpertConfig(cruise_speed_mps=speed, turn_speed_mps=0.65 * speed)
                self._drivers[car_id] = ExpertDriver(path, config)

    def _parked_pose(self, avoid: RoutePath | None) -> Pose:
        """A pose at the roadside beyond the lane of a random edge, off the ego's path."""
        edges = list(self.city.edges.values())
        for _ in range(20):
            edge = edges[int(self.rng.integers(len(edges)))]
            s = float(self.rng.uniform(0.3, 0.7)) * edge.length_m
            x, y, heading, _ = edge.sample(s)
            side = -1.0 if self.city.drive_side == "right" else 1.0
            pose = Pose(x, y, heading).moved(left_m=side * self.city.lane_width_m * 0.9)
            if avoid is None or abs(avoid.project(pose.x, pose.y)[1]) > 0.2:
                return pose
        return pose

    def drive(self, dt: float) -> None:
        """Set every moving car's wheel commands for the next step; refresh finished routes."""
        geometry = self.world.dynamics.geometry
        for car_id, driver in list(self._drivers.items()):
            pose = self.world.state(car_id).pose
            control = driver.act(pose)
            if driver.finished:
                node = self.world.nearest_node(pose)
                route = random_route(self.city, self.rng, start=node)
                driver = ExpertDriver(RoutePath.from_route(self.city, route), driver.config)
                self._drivers[car_id] = driver
                control = driver.act(pose)
            self.world.set_command(
                car_id, *wheel_speeds(control.steering, control.speed_mps, geometry)
            )

    def bodies(self) -> list[CarBody]:
        return [
            CarBody(car_id=car_id, pose=self.world.state(car_id).pose, color_bgr=colour)
            for car_id, colour in self._colours.items()
        ]
