"""Training batches drawn from the in-memory crops, with photometric augmentation.

Every batch holds about `background_share` background crops; the rest are sign crops
drawn uniformly. Augmentation changes light and sharpness only: brightness, contrast,
sensor noise and blur. Never hue or channel order (colour is half of a sign's identity:
`green-circle` vs `blue-circle`) and never flips or rotations (the jittered boxes
already move the sign within its crop).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from training.signs.samples import CropSet

BLUR_SHARE = 0.3  # crops blurred (a small or distant sign upscaled to the crop is soft)


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light-and-sharpness augmentation of a uint8 batch (B, S, S, 3): float32 0..255."""
    x = images.astype(np.float32)
    n = len(x)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    contrast = rng.uniform(0.6, 1.4, (n, 1, 1, 1)).astype(np.float32)
    gain = rng.uniform(0.65, 1.35, (n, 1, 1, 1)).astype(np.float32)
    offset = rng.uniform(-25, 25, (n, 1, 1, 1)).astype(np.float32)
    x = ((x - mean) * contrast + mean) * gain + offset
    for i in np.flatnonzero(rng.random(n) < BLUR_SHARE):
        sigma = float(rng.uniform(0.4, 1.2))
        x[i] = cv2.GaussianBlur(x[i], (0, 0), sigma)
    sigma = rng.uniform(0, 8, (n, 1, 1, 1)).astype(np.float32)
    x += rng.standard_normal(x.shape, dtype=np.float32) * sigma
    return np.clip(x, 0, 255)


def batches(
    crops: CropSet,
    background: int,
    *,
    batch_size: int,
    background_share: float,
    seed: int,
    augmented: bool = True,
) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
    """Endless ({"image": (B, S, S, 3) float32}, labels (B,)) batches.

    The number of background crops in a batch is binomial with mean
    `background_share * batch_size`; without background crops every draw is a sign.
    """
    rng = np.random.default_rng(seed)
    is_background = crops.labels == background
    signs, others = np.flatnonzero(~is_background), np.flatnonzero(is_background)
    if not len(signs):
        raise ValueError("crops: no sign crop to train on")
    share = background_share if len(others) else 0.0
    while True:
        n_bg = int(rng.binomial(batch_size, share))
        index = np.concatenate(
            [
                rng.choice(signs, batch_size - n_bg),
                rng.choice(others, n_bg) if n_bg else np.zeros(0, np.int64),
            ]
        )
        rng.shuffle(index)
        images = crops.images[index]
        x = augment(images, rng) if augmented else images.astype(np.float32)
        yield {"image": x}, crops.labels[index]


def training_dataset(
    crops: CropSet,
    background: int,
    *,
    batch_size: int,
    background_share: float,
    seed: int,
    augmented: bool = True,
) -> Any:
    """`batches` as a prefetched tf.data pipeline (augmentation overlaps training steps)."""
    import tensorflow as tf

    size = crops.images.shape[1]
    spec = (
        {"image": tf.TensorSpec((batch_size, size, size, 3), tf.float32)},
        tf.TensorSpec((batch_size,), tf.int32),
    )
    return tf.data.Dataset.from_generator(
        lambda: batches(
            crops,
            background,
            batch_size=batch_size,
            background_share=background_share,
            seed=seed,
            augmented=augmented,
        ),
        output_signature=spec,
    ).prefetch(4)
