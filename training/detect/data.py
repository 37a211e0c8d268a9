"""tf.data pipelines from VOC folders: parallel decode, augmentation, anchor matching.

Frames are decoded with OpenCV and prepared by `vehicle.perception.detector_input`, the
very function the car calls. Augmentation (training only; the car never sees it) crops
before that call, so every training image is still a whole camera view stretched to the
square input, and jitters light but never hue: colour is what tells the signs apart.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from training.detect.anchors import match
from training.detect.config import DetectTrainConfig
from training.detect.dataset import VocImage
from vehicle.perception import DetectorPreprocess, detector_input

MIN_VISIBLE = 0.5  # a box cut by a crop to less than this share of its area is ignored


def load_detector_input(image: VocImage, preprocess: DetectorPreprocess) -> np.ndarray:
    frame = cv2.imread(str(image.path), cv2.IMREAD_COLOR)
    if frame is None:
        raise FileNotFoundError(f"{image.path}: missing or not an image")
    return detector_input(frame, preprocess)


def augment_example(
    frame: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    keep: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random crop and flip of a BGR frame with its boxes: (frame, boxes, labels, keep).

    `keep` marks boxes that are targets; the others (difficult, or mostly cut away) are
    ignored by the loss rather than taught as background.
    """
    h, w = frame.shape[:2]
    if rng.random() < 0.5:
        scale = rng.uniform(0.6, 1.0)
        ch = int(h * float(np.clip(scale * rng.uniform(0.9, 1.1), 0.5, 1.0)))
        cw = int(w * scale)
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        frame = frame[y0 : y0 + ch, x0 : x0 + cw]
        oy, ox, sy, sx = y0 / h, x0 / w, ch / h, cw / w
        moved = (boxes - [oy, ox, oy, ox]) / [sy, sx, sy, sx]
        clipped = np.clip(moved, 0.0, 1.0)
        area = np.prod(np.clip(moved[:, 2:] - moved[:, :2], 1e-9, None), axis=1)
        visible = np.prod(np.clip(clipped[:, 2:] - clipped[:, :2], 0, None), axis=1) / area
        inside = visible > 0
        keep = keep[inside] & (visible[inside] >= MIN_VISIBLE)
        boxes, labels = clipped[inside].astype(np.float32), labels[inside]
    if rng.random() < 0.5:
        frame = frame[:, ::-1]
        boxes = boxes[:, [0, 3, 2, 1]] * [1, -1, 1, -1] + [0, 1, 0, 1]
    frame = np.ascontiguousarray(frame)
    # Light, not hue: gain, offset, contrast, a slight per-channel cast, noise, blur.
    f = frame.astype(np.float32)
    mean = f.mean()
    f = (f - mean) * rng.uniform(0.7, 1.3) + mean
    f = f * rng.uniform(0.7, 1.3) * rng.uniform(0.93, 1.07, size=3) + rng.uniform(-20, 20)
    if rng.random() < 0.3:
        f += rng.normal(0, rng.uniform(1, 6), size=f.shape)
    frame = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.15:
        frame = cv2.GaussianBlur(frame, (3, 3), 0)
    return frame, boxes.astype(np.float32), labels, keep


def example_targets(
    image: VocImage,
    anchors: np.ndarray,
    preprocess: DetectorPreprocess,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input uint8, encoded boxes (N, 4), classes (N,)) of one image; augmented with `rng`."""
    frame = cv2.imread(str(image.path), cv2.IMREAD_COLOR)
    if frame is None:
        raise FileNotFoundError(f"{image.path}: missing or not an image")
    boxes, labels, keep = image.boxes, image.labels, ~image.difficult
    if rng is not None:
        frame, boxes, labels, keep = augment_example(frame, boxes, labels, keep, rng)
    targets, classes = match(anchors, boxes[keep], labels[keep], boxes[~keep])
    return detector_input(frame, preprocess), targets, classes


def _rows(images: list[VocImage]) -> dict[str, np.ndarray]:
    """The images as flat arrays tf.data can slice (boxes padded to the most per image)."""
    most = max(1, max(len(im.boxes) for im in images))
    boxes = np.zeros((len(images), most, 4), np.float32)
    labels = np.full((len(images), most), -1, np.int32)
    difficult = np.zeros((len(images), most), bool)
    for i, im in enumerate(images):
        boxes[i, : len(im.boxes)] = im.boxes
        labels[i, : len(im.labels)] = im.labels
        difficult[i, : len(im.labels)] = im.difficult
    return {
        "path": np.array([str(im.path) for im in images]),
        "boxes": boxes,
        "labels": labels,
        "difficult": difficult,
    }


def _dataset(
    images: list[VocImage],
    anchors: np.ndarray,
    config: DetectTrainConfig,
    *,
    training: bool,
) -> Any:
    import tensorflow as tf

    preprocess = config.preprocess
    n_anchors = len(anchors)
    rng = np.random.default_rng(config.seed) if training and config.augment else None

    def make(path: Any, boxes: Any, labels: Any, difficult: Any) -> tuple:
        valid = labels >= 0
        image = VocImage("", path.decode(), boxes[valid], labels[valid], difficult[valid])
        # Each call draws from one shared generator: parallel calls interleave, which
        # makes augmentation vary between runs but never repeat within one.
        child = None if rng is None else np.random.default_rng(rng.integers(1 << 62))
        return example_targets(image, anchors, preprocess, child)

    def load(row: dict) -> tuple:
        image, targets, classes = tf.numpy_function(
            make,
            [row["path"], row["boxes"], row["labels"], row["difficult"]],
            (tf.uint8, tf.float32, tf.int32),
            stateful=training,
        )
        image.set_shape(preprocess.shape)
        targets.set_shape((n_anchors, 4))
        classes.set_shape((n_anchors,))
        box_target = tf.concat([targets, tf.cast(classes, tf.float32)[:, None]], axis=-1)
        return tf.cast(image, tf.float32), {"boxes": box_target, "classes": classes}

    ds = tf.data.Dataset.from_tensor_slices(_rows(images))
    if training:
        ds = ds.shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True).repeat()
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    ds = ds.batch(config.batch_size, drop_remainder=training)
    return ds.prefetch(tf.data.AUTOTUNE)


def training_dataset(images: list[VocImage], anchors: np.ndarray, config: DetectTrainConfig) -> Any:
    """Endless shuffled, augmented batches of (image float32 0..255, targets)."""
    return _dataset(images, anchors, config, training=True)


def validation_dataset(
    images: list[VocImage], anchors: np.ndarray, config: DetectTrainConfig
) -> Any:
    """Batches of the images exactly as the car prepares them, in order."""
    return _dataset(images, anchors, config, training=False)
