"""Pascal VOC annotation files, as labelImg and the TF Object Detection API read them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass


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
    """The VOC XML of one image. VOC coordinates are 1-based and inclusive."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = filename
    source = ET.SubElement(root, "source")
    ET.SubElement(source, "database").text = "Pixelopolis simulator"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(width)
    ET.SubElement(size, "height").text = str(height)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "0"
    for obj in objects:
        xmin, ymin, xmax, ymax = obj.box
        if not (0 <= xmin < xmax < width and 0 <= ymin < ymax < height):
            raise ValueError(f"box {obj.box} of {obj.name} is not inside a {width}x{height} image")
        node = ET.SubElement(root, "object")
        ET.SubElement(node, "name").text = obj.name
        ET.SubElement(node, "pose").text = "Unspecified"
        ET.SubElement(node, "truncated").text = str(int(obj.truncated))
        ET.SubElement(node, "occluded").text = str(int(obj.occluded))
        ET.SubElement(node, "difficult").text = str(int(obj.difficult))
        bnd = ET.SubElement(node, "bndbox")
        for tag, value in zip(
            ("xmin", "ymin", "xmax", "ymax"), (xmin, ymin, xmax, ymax), strict=True
        ):
            ET.SubElement(bnd, tag).text = str(value + 1)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


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
