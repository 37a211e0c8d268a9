"""The fixed catalogue of traffic signs that mark the city's nodes.

Each sign type is a detection class for the car's detector, so the catalogue only
ever grows at the end; names are short kebab-case ``<colour>-<shape>``.
"""

from __future__ import annotations

from dataclasses import dataclass

SHAPES = ("circle", "triangle", "square", "diamond", "octagon")


@dataclass(frozen=True)
class SignType:
    """One kind of sign: a coloured shape with a white symbol drawn in its centre."""

    name: str
    shape: str
    color_bgr: tuple[int, int, int]
    symbol: str


_RED = (40, 40, 220)
_BLUE = (200, 100, 20)
_GREEN = (60, 160, 40)
_YELLOW = (20, 200, 240)

SIGN_TYPES: tuple[SignType, ...] = (
    SignType(name="red-circle", shape="circle", color_bgr=_RED, symbol="A"),
    SignType(name="blue-circle", shape="circle", color_bgr=_BLUE, symbol="B"),
    SignType(name="green-circle", shape="circle", color_bgr=_GREEN, symbol="C"),
    SignType(name="yellow-circle", shape="circle", color_bgr=_YELLOW, symbol="D"),
    SignType(name="red-triangle", shape="triangle", color_bgr=_RED, symbol="E"),
    SignType(name="blue-triangle", shape="triangle", color_bgr=_BLUE, symbol="F"),
    SignType(name="green-triangle", shape="triangle", color_bgr=_GREEN, symbol="G"),
    SignType(name="yellow-triangle", shape="triangle", color_bgr=_YELLOW, symbol="H"),
    SignType(name="red-square", shape="square", color_bgr=_RED, symbol="J"),
    SignType(name="blue-square", shape="square", color_bgr=_BLUE, symbol="K"),
    SignType(name="green-square", shape="square", color_bgr=_GREEN, symbol="L"),
    SignType(name="yellow-square", shape="square", color_bgr=_YELLOW, symbol="M"),
    SignType(name="red-octagon", shape="octagon", color_bgr=_RED, symbol="N"),
    SignType(name="blue-diamond", shape="diamond", color_bgr=_BLUE, symbol="P"),
    SignType(name="green-diamond", shape="diamond", color_bgr=_GREEN, symbol="R"),
    SignType(name="yellow-diamond", shape="diamond", color_bgr=_YELLOW, symbol="S"),
)

_BY_NAME = {sign.name: sign for sign in SIGN_TYPES}


def sign_names() -> list[str]:
    """The names of every sign type, in catalogue order (the detector's class order)."""
    return [sign.name for sign in SIGN_TYPES]


def get_sign(name: str) -> SignType:
    """The sign type called `name`; KeyError naming it if there is none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown sign {name!r}; known signs: {', '.join(_BY_NAME)}") from None
