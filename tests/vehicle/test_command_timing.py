"""The lane command the planner gives inside junctions is the turn the route takes there.

Drives simulated routes with the expert, feeding the planner the renderer's own sign
boxes (a perfect detector), and compares the planner's command with the simulator's
ground truth (the command the lane model was trained with) in every junction frame.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from city import default_city
from city.generate import grid_city
from sim.expert import ExpertDriver
from sim.path import RoutePath
from sim.render import Renderer
from sim.routes import random_route, start_pose
from sim.world import World
from vehicle.perception.detections import Detection
from vehicle.planner import CarState, Planner, PlannerInput

W, H = 320, 240


def _junction_frames(city, seed: int, routes: int) -> tuple[int, int, list[str]]:
    renderer = Renderer(city)
    rng = np.random.default_rng(seed)
    frames = wrong = 0
    reached_all: list[str] = []
    for _ in range(routes):
        route = random_route(city, rng, min_length_m=5.0)
        path = RoutePath.from_route(city, route)
        world = World(city)
        world.add_car("a", start_pose(city, path))
        expert = ExpertDriver(path)
        legs = [city.edge(a, b).lane_length_m for a, b in pairwise(route.nodes)]
        planner = Planner()
        booking = {"id": "b", "route": route.to_dict()}
        odometry = t = 0.0
        reached: list[str] = []
        while not expert.finished:
            pose = world.state("a").pose
            frame = renderer.render(pose, annotate=True)
            boxes = [
                Detection(o.label, 0.95, (o.box[1] / H, o.box[0] / W, o.box[3] / H, o.box[2] / W))
                for o in frame.objects
                if not o.difficult
            ]
            out = planner.step(
                PlannerInput(
                    now=t,
                    assignment=booking,
                    steering=0.0,
                    detections=boxes,
                    odometry_m=odometry,
                    reservation_granted=True,
                    server_ok=True,
                    leg_lengths_m=legs,
                )
            )
            reached += [e.node for e in out.events if e.kind == "reached"]
            s, _, _ = path.project(pose.x, pose.y)
            inside = any(
                n.entry_s <= s <= n.exit_s for n in path.nodes[1:-1] if n.exit_s > n.entry_s
            )
            if inside and out.state is CarState.DRIVING:
                frames += 1
                wrong += out.command != path.command_at(s)
            control = expert.act(pose)
            world.set_command("a", *control.wheel_speeds())
            world.step(0.05)
            odometry += world.state("a").speed * 0.05
            t += 0.05
        assert reached == list(route.nodes[1:]), (reached, route.nodes)
        reached_all += reached
    return frames, wrong, reached_all


@pytest.mark.slow
@pytest.mark.parametrize(
    "city", [default_city(), grid_city(12, seed=7)], ids=["default town", "unseen grid"]
)
def test_every_junction_frame_gets_the_routes_turn(city):
    frames, wrong, reached = _junction_frames(city, seed=2, routes=4)
    assert frames > 100 and reached
    assert wrong == 0, f"{wrong} of {frames} junction frames with the wrong command"
