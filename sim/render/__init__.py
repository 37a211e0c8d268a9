"""The camera renderer: ground texture + homography, sign boards and car boxes, with OpenCV.

See `Renderer`; `sim.camera` holds the pinhole model and `sim.appearance` the looks.
"""

from sim.render.renderer import Renderer
from sim.render.types import CAR_COLOURS, CarBody, Frame, ObjectBox

__all__ = ["CAR_COLOURS", "CarBody", "Frame", "ObjectBox", "Renderer"]
