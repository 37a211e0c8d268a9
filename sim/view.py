"""`pixelopolis sim view`: a picture of what the simulator does.

A top-down map of the city with a few cars on random routes, beside what each car's
camera sees, clean and randomised, as one PNG.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from city import City
from sim.appearance import Appearance
from sim.path import RoutePath
from sim.render import CAR_COLOURS, CarBody, Renderer
from sim.routes import random_route, start_pose


def render_view(city: City, *, cars: int = 3, seed: int = 0, map_px: int = 720) -> np.ndarray:
    """The overview image: map on the left, each car's camera (clean | randomised) on the right."""
    rng = np.random.default_rng(seed)
    renderer = Renderer(city)
    bodies = []
    for n in range(cars):
        path = RoutePath.from_route(city, random_route(city, rng))
        s = float(rng.uniform(0.1, 0.6)) * path.length
        pose = path.pose_at(s) if n else start_pose(city, path)
        bodies.append(
            CarBody(car_id=f"car-{n}", pose=pose, color_bgr=CAR_COLOURS[n % len(CAR_COLOURS)])
        )
    top = renderer.render_top_down(cars=bodies, size_px=map_px)
    views = []
    look = Appearance.randomised(np.random.default_rng(seed + 1), 1.0)
    for body in bodies:
        others = [b for b in bodies if b.car_id != body.car_id]
        renderer.set_appearance(Appearance())
        clean = renderer.render(body.pose, cars=others, annotate=True)
        for obj in clean.objects:
            x0, y0, x1, y1 = obj.box
            cv2.rectangle(clean.image, (x0, y0), (x1, y1), (0, 255, 255), 1)
        renderer.set_appearance(look)
        noisy = renderer.render(body.pose, cars=others, rng=np.random.default_rng(seed))
        row = np.hstack([clean.image, noisy.image])
        cv2.rectangle(row, (0, 0), (row.shape[1] - 1, row.shape[0] - 1), body.color_bgr, 3)
        cv2.putText(row, body.car_id, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, body.color_bgr, 2)
        views.append(row)
    right = np.vstack(views) if views else np.zeros((map_px, 1, 3), np.uint8)
    height = max(top.shape[0], right.shape[0])
    canvas = np.full((height, top.shape[1] + right.shape[1], 3), 255, np.uint8)
    canvas[: top.shape[0], : top.shape[1]] = top
    canvas[: right.shape[0], top.shape[1] :] = right
    return canvas


def write_view(city: City, out: Path, *, cars: int = 3, seed: int = 0) -> Path:
    image = render_view(city, cars=cars, seed=seed)
    out = Path(out)
    if not cv2.imwrite(str(out), image):
        raise OSError(f"cannot write {out}")
    return out
