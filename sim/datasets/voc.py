"""Pascal VOC annotation files, as labelImg and the TF Object Detection API read them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class VocObject:
    name: str
    box: tuple[int, int, int, int]  # xmin, ymin, xmax, ymax: 0-based pixel indices, inclusive
    truncated: bool = False
    occluded: bool = False
    difficult: bool = False


def annotation_xml(
    *, filename: str, width: int, height: int, objects: Sequence[VocObject], folder: str = "VOC"
) -> str:
    """The VOC XML of one image. VOC coordinates are 1-based and inclusive.

    Written as text (the same bytes ElementTree with `ET.indent` gives, ten times faster).
    """
    parts = [
        "<annotation>\n"
        f"  <folder>{escape(folder)}</folder>\n"
        f"  <filename>{escape(filename)}</filename>\n"
        "  <source>\n"
        "    <database>Pixelopolis simulator</database>\n"
        "  </source>\n"
        "  <size>\n"
        f"    <width>{width}</width>\n"
        f"    <height>{height}</height>\n"
        "    <depth>3</depth>\n"
        "  </size>\n"
        "  <segmented>0</segmented>\n"
    ]
    for obj in objects:
        xmin, ymin, xmax, ymax = obj.box
        if not (0 <= xmin < xmax < width and 0 <= ymin < ymax < height):
            raise ValueError(f"box {obj.box} of {obj.name} is not inside a {width}x{height} image")
        parts.append(
            "  <object>\n"
            f"    <name>{escape(obj.name)}</name>\n"
            "    <pose>Unspecified</pose>\n"
            f"    <truncated>{int(obj.truncated)}</truncated>\n"
            f"    <occluded>{int(obj.occluded)}</occluded>\n"
            f"    <difficult>{int(obj.difficult)}</difficult>\n"
            "    <bndbox>\n"
            f"      <xmin>{xmin + 1}</xmin>\n"
            f"      <ymin>{ymin + 1}</ymin>\n"
            f"      <xmax>{xmax + 1}</xmax>\n"
            f"      <ymax>{ymax + 1}</ymax>\n"
            "    </bndbox>\n"
            "  </object>\n"
        )
    parts.append("</annotation>\n")
    return "".join(parts)


def read_annotation(text: str) -> tuple[str, int, int, list[VocObject]]:
    """(filename, width, height, objects) of a VOC XML, coordinates back to 0-based."""
    root = ET.fromstring(text)
    size = root.find("size")
    width, height = int(size.findtext("width")), int(size.findtext("height"))
    objects = []
    for node in root.iter("object"):
        bnd = node.find("bndbox")
        box = tuple(int(float(bnd.findtext(t))) - 1 for t in ("xmin", "ymin", "xmax", "ymax"))
        objects.append(
            VocObject(
                name=node.findtext("name"),
                box=box,  # type: ignore[arg-type]
                truncated=node.findtext("truncated") == "1",
                occluded=node.findtext("occluded") == "1",
                difficult=node.findtext("difficult") == "1",
            )
        )
    return root.findtext("filename"), width, height, objects


def label_map_pbtxt(classes: Sequence[str]) -> str:
    """The label map of the TF Object Detection API (ids start at 1)."""
    items = [f"item {{\n  id: {i}\n  name: '{name}'\n}}\n" for i, name in enumerate(classes, 1)]
    return "".join(items)
