"""What the renderer takes and gives: other cars' bodies, frames and their object boxes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.pose import Pose

# Body colours of the miniature cars (BGR), for scenes with several cars.
CAR_COLOURS: tuple[tuple[int, int, int], ...] = (
    (40, 40, 200),
    (200, 90, 30),
    (30, 160, 40),
    (30, 200, 220),
    (160, 60, 160),
    (220, 220, 220),
    (40, 40, 40),
)


@dataclass(frozen=True)
class CarBody:
    """Another car to draw: its pose (axle centre) and body colour."""

    car_id: str
    pose: Pose
    color_bgr: tuple[int, int, int] = (40, 40, 200)


@dataclass(frozen=True)
class ObjectBox:
    """One annotated object in a frame (Pascal VOC style), box in pixels inside the image."""

    kind: str  # "sign" or "car"
    label: str  # the sign type name, or "car"
    ref: str  # node id for signs, car id for cars
    box: tuple[int, int, int, int]  # xmin, ymin, xmax, ymax; xmin < xmax, ymin < ymax
    truncated: bool  # the projected box was cut by the image border (or the near plane)
    occluded: bool  # nearer objects cover more than OCCLUDED_SHARE of it
    difficult: bool  # under DIFFICULT_HEIGHT_PX high, or mostly hidden
    distance_m: float  # from the lens, over the ground


@dataclass
class Frame:
    """A rendered camera image (H x W x 3 uint8 BGR) and, if asked for, its objects."""

    image: np.ndarray
    objects: list[ObjectBox] = field(default_factory=list)
