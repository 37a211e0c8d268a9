"""Sign and background crops from a VOC detection dataset, made once and kept in memory.

The classifier sees what the car gives it: `vehicle.perception.sign_crop` of a box a
detector found. A detector's box is never the true one, so each sign's true box is shifted
and scaled by up to `jitter` of its size (IoU with the truth at least `min_iou`) before
cropping. Background crops teach the classifier to reject the detector's false
positives: car boxes (jittered the same way) and random boxes of sign sizes that overlap
no sign much. Each image is decoded once; `draws` jittered boxes per object are cropped
from it, so an epoch of training only indexes uint8 arrays.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from tqdm import tqdm

from city.signs import sign_names
from training.detect.anchors import iou_matrix
from training.detect.dataset import VocImage
from training.lane.config import TrainingError
from training.signs.config import SignsTrainConfig
from vehicle.perception.detections import CAR_LABEL
from vehicle.perception.preprocess import sign_crop

log = logging.getLogger(__name__)

BACKGROUND = "background"
MAX_COVERED = 0.5  # a background box holds at most this share of any sign's area
TRIES = 24  # redraws of a jittered or random box before giving up on it

# Where a crop came from (CropSet.source).
SIGN, CAR, RANDOM = 0, 1, 2
SOURCES = ("sign", "car", "random")


def sign_classes(dataset_labels: Sequence[str]) -> list[str]:
    """The classifier's classes: the dataset's sign types (catalogue order), `background` last.

    The dataset must hold exactly the catalogue's signs then `car`
    (`sim.datasets.detect.classes()`): the car maps class names, not ids, but a dataset
    of other signs would train a classifier for other signs.
    """
    labels = list(dataset_labels)
    expected = [*sign_names(), CAR_LABEL]
    if labels != expected:
        raise TrainingError(
            f"labels.txt: expected the sign catalogue then {CAR_LABEL!r} "
            f"({len(expected)} classes), got {len(labels)} classes"
        )
    return [*labels[:-1], BACKGROUND]


def jitter_boxes(
    boxes: np.ndarray, rng: np.random.Generator, *, jitter: float, min_iou: float
) -> np.ndarray:
    """Each box (N, 4) shifted and scaled by up to `jitter` of its size, as a detector errs.

    Centre shifts are uniform in +-jitter of the height and width, height and width
    scale log-uniformly in [1 - jitter, 1 + jitter], and the box is clipped to the frame
    (as `Detector` clips). A box whose draws all fall under `min_iou` with its truth
    stays the truth.
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    out = boxes.copy()
    pending = np.arange(len(boxes))
    h = boxes[:, 2] - boxes[:, 0]
    w = boxes[:, 3] - boxes[:, 1]
    cy = (boxes[:, 0] + boxes[:, 2]) / 2
    cx = (boxes[:, 1] + boxes[:, 3]) / 2
    low, high = np.log(1 - jitter), np.log(1 + jitter)
    for _ in range(TRIES):
        if not len(pending):
            break
        n = len(pending)
        shift = rng.uniform(-jitter, jitter, (n, 2))
        scale = np.exp(rng.uniform(low, high, (n, 2)))
        ny = cy[pending] + shift[:, 0] * h[pending]
        nx = cx[pending] + shift[:, 1] * w[pending]
        nh, nw = h[pending] * scale[:, 0], w[pending] * scale[:, 1]
        cand = np.clip(
            np.stack([ny - nh / 2, nx - nw / 2, ny + nh / 2, nx + nw / 2], axis=1), 0.0, 1.0
        ).astype(np.float32)
        iou = _paired_iou(cand, boxes[pending])
        ok = iou >= min_iou
        out[pending[ok]] = cand[ok]
        pending = pending[~ok]
    return out


def background_boxes(
    signs: np.ndarray,
    sizes: np.ndarray,
    count: int,
    rng: np.random.Generator,
    *,
    max_iou: float,
) -> np.ndarray:
    """Up to `count` random boxes (K, 4) of sizes drawn from `sizes` (P, 2: height, width)
    inside the frame, each with IoU under `max_iou` with every box of `signs` (M, 4) and
    covering at most half of any sign (a big box around a small sign is not background)."""
    signs = np.asarray(signs, np.float32).reshape(-1, 4)
    n = count * TRIES
    hw = sizes[rng.integers(len(sizes), size=n)]
    y = rng.uniform(0, 1, n) * (1 - hw[:, 0])
    x = rng.uniform(0, 1, n) * (1 - hw[:, 1])
    cand = np.stack([y, x, y + hw[:, 0], x + hw[:, 1]], axis=1).astype(np.float32)
    if len(signs):
        ok = (iou_matrix(cand, signs) < max_iou).all(axis=1)
        ok &= (_covered(cand, signs) <= MAX_COVERED).all(axis=1)
        cand = cand[ok]
    return cand[:count]


@dataclass(frozen=True)
class CropSet:
    """Crops ready for the classifier: uint8 RGB images, class ids, and where each came from."""

    images: np.ndarray  # (N, S, S, 3) uint8
    labels: np.ndarray  # (N,) int32; len(classes) - 1 is background
    source: np.ndarray  # (N,) int8: SIGN, CAR or RANDOM

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> CropSet:
        return CropSet(self.images[index], self.labels[index], self.source[index])


def sign_sizes(images: Sequence[VocImage], num_signs: int) -> np.ndarray:
    """(height, width) of every non-difficult sign box: the sizes random boxes take."""
    sizes = [
        im.boxes[(im.labels < num_signs) & ~im.difficult][:, 2:]
        - im.boxes[(im.labels < num_signs) & ~im.difficult][:, :2]
        for im in images
    ]
    out = np.concatenate(sizes) if sizes else np.zeros((0, 2), np.float32)
    if not len(out):
        raise TrainingError("the dataset holds no (non-difficult) sign to learn from")
    return out.astype(np.float32)


def plan_boxes(
    image: VocImage,
    num_signs: int,
    sizes: np.ndarray,
    config: SignsTrainConfig,
    rng: np.random.Generator,
    *,
    draws: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes to crop from one image: (boxes (N, 4), class ids (N,), sources (N,)).

    Per draw: every non-difficult sign and every car jittered, and one random background
    box. Class `num_signs` is background.
    """
    is_sign = image.labels < num_signs
    signs = image.boxes[is_sign & ~image.difficult]
    sign_ids = image.labels[is_sign & ~image.difficult]
    cars = image.boxes[~is_sign]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for _ in range(draws):
        kw = {"jitter": config.jitter, "min_iou": config.min_iou}
        parts.append((jitter_boxes(signs, rng, **kw), sign_ids, _n(signs, SIGN)))
        parts.append((jitter_boxes(cars, rng, **kw), np.full(len(cars), num_signs), _n(cars, CAR)))
        # Every sign box, difficult ones too, is off limits to random background boxes.
        extra = background_boxes(
            image.boxes[is_sign], sizes, 1, rng, max_iou=config.background_max_iou
        )
        parts.append((extra, np.full(len(extra), num_signs), _n(extra, RANDOM)))
    boxes = np.concatenate([p[0] for p in parts]).reshape(-1, 4).astype(np.float32)
    labels = np.concatenate([p[1] for p in parts]).astype(np.int32)
    source = np.concatenate([p[2] for p in parts]).astype(np.int8)
    return boxes, labels, source


def build_crops(
    images: Sequence[VocImage],
    num_signs: int,
    sizes: np.ndarray,
    config: SignsTrainConfig,
    *,
    draws: int,
    seed: int,
    workers: int = 2,
    progress: bool = False,
    desc: str = "crops",
) -> CropSet:
    """Decode every image once and crop its planned boxes with `sign_crop`.

    Each image's boxes come from its own generator (`seed`, its index), so the crops do
    not depend on the number of workers.
    """

    def crop_one(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        image = images[i]
        rng = np.random.default_rng([seed, i])
        boxes, labels, source = plan_boxes(image, num_signs, sizes, config, rng, draws=draws)
        frame = cv2.imread(str(image.path), cv2.IMREAD_COLOR)
        if frame is None:
            raise TrainingError(f"{image.path}: missing or not an image")
        crops = (
            np.stack([sign_crop(frame, tuple(b), config.crop) for b in boxes])
            if len(boxes)
            else np.zeros((0, *config.crop.shape), np.uint8)
        )
        return crops, labels, source

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            tqdm(
                pool.map(crop_one, range(len(images))),
                total=len(images),
                disable=not progress,
                unit="image",
                desc=desc,
            )
        )
    crops = CropSet(
        images=np.concatenate([r[0] for r in results]),
        labels=np.concatenate([r[1] for r in results]),
        source=np.concatenate([r[2] for r in results]),
    )
    counts = np.bincount(crops.source, minlength=len(SOURCES))
    log.info(
        "%s: %d crops from %d images (%s)",
        desc,
        len(crops),
        len(images),
        ", ".join(f"{n} {s}" for s, n in zip(SOURCES, counts, strict=True)),
    )
    return crops


def _n(boxes: np.ndarray, source: int) -> np.ndarray:
    return np.full(len(boxes), source)


def _paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of a[i] with b[i] (both (N, 4))."""
    ymin = np.maximum(a[:, 0], b[:, 0])
    xmin = np.maximum(a[:, 1], b[:, 1])
    ymax = np.minimum(a[:, 2], b[:, 2])
    xmax = np.minimum(a[:, 3], b[:, 3])
    inter = np.clip(ymax - ymin, 0, None) * np.clip(xmax - xmin, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-12)


def _covered(boxes: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Share of each sign's area (columns) inside each box (rows): (K, M)."""
    ymin = np.maximum(boxes[:, None, 0], signs[None, :, 0])
    xmin = np.maximum(boxes[:, None, 1], signs[None, :, 1])
    ymax = np.minimum(boxes[:, None, 2], signs[None, :, 2])
    xmax = np.minimum(boxes[:, None, 3], signs[None, :, 3])
    inter = np.clip(ymax - ymin, 0, None) * np.clip(xmax - xmin, 0, None)
    area = (signs[:, 2] - signs[:, 0]) * (signs[:, 3] - signs[:, 1])
    return inter / np.maximum(area[None, :], 1e-12)
