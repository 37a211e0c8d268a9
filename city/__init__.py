"""The world model everyone shares: the city map, its file format, routes and signs.

See docs/city-format.md for the file format, the turn rules and the lane geometry.
"""

from city.citymap import City
from city.errors import (
    CityError,
    CityValidationError,
    NoRouteError,
    UnknownEdgeError,
    UnknownNodeError,
)
from city.files import default_city, default_city_path, load_city
from city.geometry import Arc, Line, Segment
from city.kinematics import CarGeometry, steering_from_wheels, wheel_speeds
from city.model import Edge, Node, Route, RouteStep
from city.signs import SIGN_TYPES, SignType, get_sign, sign_names
from city.turns import ARRIVE, DEPART, LEFT, RIGHT, STRAIGHT, U_TURN, classify_turn

__all__ = [
    "ARRIVE",
    "DEPART",
    "LEFT",
    "RIGHT",
    "SIGN_TYPES",
    "STRAIGHT",
    "U_TURN",
    "Arc",
    "CarGeometry",
    "City",
    "CityError",
    "CityValidationError",
    "Edge",
    "Line",
    "NoRouteError",
    "Node",
    "Route",
    "RouteStep",
    "Segment",
    "SignType",
    "UnknownEdgeError",
    "UnknownNodeError",
    "classify_turn",
    "default_city",
    "default_city_path",
    "get_sign",
    "load_city",
    "sign_names",
    "steering_from_wheels",
    "wheel_speeds",
]
