"""Turn names, and how the geometry of two edges meeting at a node classifies the turn."""

from __future__ import annotations

import math

from city.model import Edge

DEPART = "depart"
ARRIVE = "arrive"
LEFT = "left"
STRAIGHT = "straight"
RIGHT = "right"
U_TURN = "u-turn"
TURNS = (LEFT, STRAIGHT, RIGHT, U_TURN)

STRAIGHT_LIMIT_DEG = 30.0
U_TURN_LIMIT_DEG = 150.0


def heading_change_deg(from_heading_rad: float, to_heading_rad: float) -> float:
    """Signed change of heading in degrees, in (-180, 180]; positive is to the left."""
    change = math.remainder(math.degrees(to_heading_rad - from_heading_rad), 360.0)
    return 180.0 if change == -180.0 else change


def classify_change(change_deg: float) -> str:
    """The turn for a heading change in (-180, 180] degrees."""
    if abs(change_deg) <= STRAIGHT_LIMIT_DEG:
        return STRAIGHT
    if STRAIGHT_LIMIT_DEG < change_deg <= U_TURN_LIMIT_DEG:
        return LEFT
    if -U_TURN_LIMIT_DEG <= change_deg < -STRAIGHT_LIMIT_DEG:
        return RIGHT
    return U_TURN


def classify_turn(incoming: Edge, outgoing: Edge) -> str:
    """The turn from `incoming` onto `outgoing` at the node they share.

    Going straight back to the node `incoming` came from is always a u-turn.
    """
    if outgoing.to_node == incoming.from_node:
        return U_TURN
    return classify_change(heading_change_deg(incoming.end_heading, outgoing.start_heading))
