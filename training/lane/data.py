"""tf.data pipelines from the lane manifest: parallel decode, cache, balance, shuffle, prefetch.

Frames are decoded with OpenCV and prepared by `vehicle.perception.lane_input`, the very
function the car calls, so training never sees an image prepared differently from the
road. Augmentation runs after the cache, on training batches only: the car never sees it.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from training.lane.config import LaneTrainConfig
from training.lane.manifest import LaneRecords, balance_weights
from vehicle.perception import LanePreprocess, lane_input


def load_lane_input(path: str, preprocess: LanePreprocess) -> np.ndarray:
    """One frame from disk as the lane model's uint8 input, exactly as the car prepares it."""
    frame = cv2.imread(path, cv2.IMREAD_COLOR)
    if frame is None:
        raise FileNotFoundError(f"{path}: missing or not an image")
    return lane_input(frame, preprocess)


def load_lane_inputs(records: LaneRecords, preprocess: LanePreprocess) -> np.ndarray:
    """A stack of lane inputs, for evaluation, calibration and parity checks."""
    return np.stack([load_lane_input(str(p), preprocess) for p in records.paths])


def _decoded(records: LaneRecords, preprocess: LanePreprocess, *, order_seed: int | None) -> Any:
    import tensorflow as tf

    index = np.arange(len(records))
    if order_seed is not None:  # a fixed random order, so the cache is not sorted by episode
        index = np.random.default_rng(order_seed).permutation(index)
    recs = records.take(index)
    slices = (recs.paths, recs.command_onehot(), recs.steering)

    def decode(path: Any) -> np.ndarray:
        return load_lane_input(path.decode(), preprocess)

    def load(path: Any, command: Any, steering: Any) -> Any:
        image = tf.numpy_function(decode, [path], tf.uint8, stateful=False)
        image.set_shape(preprocess.shape)
        return image, command, steering

    ds = tf.data.Dataset.from_tensor_slices(slices)
    return ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True), recs


def augment(images: Any, seed: Any) -> Any:
    """Photometric jitter of a uint8 YUV batch: brightness, contrast, colour cast, noise.

    Each image draws its own values. Geometry is left alone: a shifted or mirrored view
    would need a different steering label.
    """
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, 5)
    x = tf.cast(images, tf.float32)
    y, uv = x[..., :1], x[..., 1:]
    batch = tf.shape(x)[0]
    per_image = tf.stack([batch, 1, 1, 1])
    gain = tf.random.stateless_uniform(per_image, seeds[0], 0.6, 1.4)
    offset = tf.random.stateless_uniform(per_image, seeds[1], -30.0, 30.0)
    mean_y = tf.reduce_mean(y, axis=[1, 2, 3], keepdims=True)
    y = (y - mean_y) * gain + mean_y + offset
    cast = tf.random.stateless_uniform(tf.stack([batch, 1, 1, 2]), seeds[2], -12.0, 12.0)
    saturation = tf.random.stateless_uniform(per_image, seeds[3], 0.7, 1.3)
    uv = (uv - 128.0) * saturation + 128.0 + cast
    noise = tf.random.stateless_normal(tf.shape(y), seeds[4], stddev=4.0)
    x = tf.concat([y + noise, uv], axis=-1)
    return tf.clip_by_value(tf.round(x), 0.0, 255.0)


def training_dataset(records: LaneRecords, config: LaneTrainConfig) -> Any:
    """Balanced, shuffled, augmented batches of ({"image", "command"}, steering)."""
    import tensorflow as tf

    ds, recs = _decoded(records, config.preprocess, order_seed=config.seed)
    weights = balance_weights(
        recs.steering,
        bins=config.balance_bins,
        strength=config.balance,
        cap=config.max_repeat,
        commands=recs.commands,
        command_strength=config.command_balance,
    )
    # Stochastic rounding of each frame's weight: a fresh, balanced draw every epoch.
    ds = tf.data.Dataset.zip(
        ds.cache(),
        tf.data.Dataset.from_tensor_slices(weights),
        tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True),
    )

    def draws(item: Any, weight: Any, rand: Any) -> Any:
        image, command, steering = item
        u = tf.cast(rand % 1_000_003, tf.float32) / 1_000_003.0
        n = tf.cast(tf.floor(weight + u), tf.int64)
        element = tf.data.Dataset.from_tensors((image, command, steering))
        return element.repeat(n)

    ds = ds.flat_map(draws)
    ds = ds.shuffle(min(8192, 2 * len(recs)), seed=config.seed, reshuffle_each_iteration=True)
    if config.steps_per_epoch is not None:
        ds = ds.repeat()
    ds = ds.batch(config.batch_size, drop_remainder=True)
    seeds = tf.data.Dataset.random(seed=config.seed + 1, rerandomize_each_iteration=True)
    ds = tf.data.Dataset.zip(ds, seeds.batch(2))

    def prepare(batch: Any, seed: Any) -> Any:
        images, commands, steering = batch
        images = augment(images, seed) if config.augment else tf.cast(images, tf.float32)
        return {"image": images, "command": commands}, steering

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    return ds.with_options(_sharded_by_data())


def validation_dataset(records: LaneRecords, config: LaneTrainConfig) -> Any:
    """Validation batches in manifest order: no balancing, no augmentation."""
    import tensorflow as tf

    ds, _ = _decoded(records, config.preprocess, order_seed=None)
    ds = ds.cache().map(
        lambda image, command, steering: (
            {"image": tf.cast(image, tf.float32), "command": command},
            steering,
        )
    )
    ds = ds.batch(config.batch_size).prefetch(tf.data.AUTOTUNE)
    return ds.with_options(_sharded_by_data())


def _sharded_by_data() -> Any:
    """Multi-worker runs split batches by element: there are no files to shard by."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options
