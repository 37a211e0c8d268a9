"""Pascal VOC detection folders (`pixelopolis sim detect`) as arrays of normalised boxes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.datasets.voc import read_annotation
from training.lane.config import TrainingError


@dataclass(frozen=True)
class VocImage:
    """One annotated image: boxes normalised (ymin, xmin, ymax, xmax), class ids 0-based."""

    image_id: str
    path: Path
    boxes: np.ndarray  # (M, 4) float32
    labels: np.ndarray  # (M,) int32
    difficult: np.ndarray  # (M,) bool


def read_labels(data: Path) -> list[str]:
    path = Path(data) / "labels.txt"
    if not path.is_file():
        raise TrainingError(f"{data}: not a detection dataset (no labels.txt)")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def load_split(data: Path, split: str, *, max_images: int | None = None) -> list[VocImage]:
    """The images of `ImageSets/Main/<split>.txt`, with their annotations."""
    data = Path(data)
    names = read_labels(data)
    index = {n: i for i, n in enumerate(names)}
    listing = data / "ImageSets" / "Main" / f"{split}.txt"
    if not listing.is_file():
        raise TrainingError(f"{data}: no {split} split ({listing} is missing)")
    ids = listing.read_text().split()[:max_images]
    images = []
    for image_id in ids:
        xml = data / "Annotations" / f"{image_id}.xml"
        if not xml.is_file():
            raise TrainingError(f"{xml}: missing annotation")
        _, width, height, objects = read_annotation(xml.read_text())
        boxes = np.array(
            [
                # VOC pixel indices are inclusive: the box spans to the far edge of xmax.
                (
                    o.box[1] / height,
                    o.box[0] / width,
                    (o.box[3] + 1) / height,
                    (o.box[2] + 1) / width,
                )
                for o in objects
            ],
            np.float32,
        ).reshape(-1, 4)
        unknown = [o.name for o in objects if o.name not in index]
        if unknown:
            raise TrainingError(f"{xml}: unknown class {unknown[0]!r} (not in labels.txt)")
        images.append(
            VocImage(
                image_id=image_id,
                path=data / "JPEGImages" / f"{image_id}.jpg",
                boxes=boxes,
                labels=np.array([index[o.name] for o in objects], np.int32),
                difficult=np.array([o.difficult for o in objects], bool),
            )
        )
    if not images:
        raise TrainingError(f"{data}: the {split} split is empty")
    return images
