"""Backbone pretraining on the detection data's own objects (no downloaded weights).

A detector trained from scratch on two CPU cores learns *where* the signs are long before
it learns *which* sign it sees. So the MobileNetV2 backbone is first taught to name the
object at the centre of small crops of the detector's own input (its 224-pixel square,
so every sign keeps the size the detector sees it at), plus a `background` class for
crops with nothing at the centre. A 96-pixel crop costs about a fifth of a full input,
so the same minutes see five times as many signs. The detector then starts from these
backbone weights (`load_backbone`).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from training.detect.config import DetectTrainConfig
from training.detect.data import augment_example
from training.detect.dataset import VocImage
from vehicle.perception import DetectorPreprocess, detector_input

log = logging.getLogger(__name__)

BACKGROUND_SHARE = 0.2  # crops with no object at their centre
JITTER = 0.25  # the object's centre moves up to this share of the crop from its middle
CENTRE = 0.2  # a background crop has no object box touching its central square this wide


CROP = 96  # pixels of a pretraining crop, cut from the detector's own square input
VAL_CROPS = 600  # validation images, one fixed crop each, for the accuracy in the card


def pick_crop(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    keep: np.ndarray,
    num_classes: int,
    crop: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """A (crop, crop, 3) window of the square `image` and the class at its centre
    (`num_classes` for background). Boxes are normalised; the image is padded with grey
    so objects at the border can sit at a crop's centre."""
    size = image.shape[0]
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2 * size
    targets = np.flatnonzero(keep)
    spot = None
    if not len(targets) or rng.random() < BACKGROUND_SHARE:
        spot = _empty_spot(boxes, size, crop, rng)
    if spot is not None:
        (cy, cx), label = spot, num_classes
    elif len(targets):
        k = int(rng.choice(targets))
        cy, cx = centres[k] + rng.uniform(-JITTER, JITTER, 2) * crop
        label = int(labels[k])
    else:  # only difficult objects, everywhere: skip nothing, call it their class
        k = int(rng.integers(len(boxes)))
        (cy, cx), label = centres[k], int(labels[k])
    pad = crop // 2
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), constant_values=128)
    y0 = int(np.clip(round(cy), 0, size))
    x0 = int(np.clip(round(cx), 0, size))
    return padded[y0 : y0 + crop, x0 : x0 + crop], label


def _empty_spot(
    boxes: np.ndarray, size: int, crop: int, rng: np.random.Generator
) -> tuple[float, float] | None:
    """A crop centre whose central square no box touches (None after a few tries)."""
    half = CENTRE * crop / 2 / size
    for _ in range(8):
        cy, cx = rng.uniform(0, size, 2)
        y, x = cy / size, cx / size
        touching = (
            (boxes[:, 0] < y + half)
            & (boxes[:, 2] > y - half)
            & (boxes[:, 1] < x + half)
            & (boxes[:, 3] > x - half)
        )
        if not touching.any():
            return float(cy), float(cx)
    return None


def crop_example(
    image: VocImage,
    num_classes: int,
    preprocess: DetectorPreprocess,
    crop: int,
    rng: np.random.Generator,
    *,
    augment: bool,
) -> tuple[np.ndarray, int]:
    import cv2

    frame = cv2.imread(str(image.path), cv2.IMREAD_COLOR)
    if frame is None:
        raise FileNotFoundError(f"{image.path}: missing or not an image")
    boxes, labels, keep = image.boxes, image.labels, ~image.difficult
    if augment:
        frame, boxes, labels, keep = augment_example(frame, boxes, labels, keep, rng)
    square = detector_input(frame, preprocess)
    return pick_crop(square, boxes, labels, keep, num_classes, crop, rng)


def crop_dataset(
    images: list[VocImage],
    num_classes: int,
    preprocess: DetectorPreprocess,
    *,
    batch_size: int,
    seed: int,
    training: bool,
    crop: int = CROP,
) -> Any:
    """Batches of (crop float32 0..255, class): endless and augmented when `training`;
    otherwise one fixed crop per image (seeded), for a validation accuracy."""
    import tensorflow as tf

    base = np.random.default_rng(seed + (0 if training else 1))
    seeds = base.integers(1 << 62, size=len(images))

    def make(index: Any, draw: Any) -> tuple[np.ndarray, np.int32]:
        i = int(index)
        rng = np.random.default_rng([int(seeds[i]), int(draw)])
        window, label = crop_example(
            images[i], num_classes, preprocess, crop, rng, augment=training
        )
        return window, np.int32(label)

    def load(index: Any, draw: Any) -> tuple[Any, Any]:
        window, label = tf.numpy_function(make, [index, draw], (tf.uint8, tf.int32))
        window.set_shape((crop, crop, 3))
        label.set_shape(())
        return tf.cast(window, tf.float32), label

    n = len(images)
    if training:
        indices = tf.data.Dataset.range(n).shuffle(n, seed=seed).repeat()
        draws = tf.data.Dataset.range(1 << 62)
        ds = tf.data.Dataset.zip((indices, draws))
    else:
        ds = tf.data.Dataset.zip((tf.data.Dataset.range(n), tf.data.Dataset.range(n)))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    ds = ds.batch(batch_size, drop_remainder=training)
    return ds.prefetch(tf.data.AUTOTUNE)


def build_crop_classifier(num_classes: int, *, crop: int = 96, alpha: float = 0.5) -> Any:
    """The detector's backbone (same layer names) with a pooled softmax head over the sign
    and car classes plus background: logits (B, num_classes + 1)."""
    import keras
    from keras import layers

    from training.detect.model import BN_MOMENTUM

    image = keras.Input((crop, crop, 3), name="image")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalise")(image)
    backbone = keras.applications.MobileNetV2(
        input_shape=(crop, crop, 3), alpha=alpha, include_top=False, weights=None
    )
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    x = backbone(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(0.2, name="drop")(x)
    logits = layers.Dense(num_classes + 1, name="logits")(x)
    return keras.Model(image, logits, name="crop_classifier")


def backbone_weights(classifier: Any) -> dict[str, list[np.ndarray]]:
    """The backbone's weights by layer name."""
    inner = next(layer for layer in classifier.layers if layer.name.startswith("mobilenetv2"))
    return {layer.name: layer.get_weights() for layer in inner.layers if layer.weights}


def save_backbone(classifier: Any, path: Path) -> None:
    weights = backbone_weights(classifier)
    flat = {f"{name}/{i}": w for name, ws in weights.items() for i, w in enumerate(ws)}
    np.savez(path, **flat)


def load_backbone(detector: Any, path: Path) -> int:
    """Copy saved backbone weights into `detector`'s backbone; returns the layers set."""
    saved = np.load(path)
    by_layer: dict[str, dict[int, np.ndarray]] = {}
    for key in saved.files:
        name, i = key.rsplit("/", 1)
        by_layer.setdefault(name, {})[int(i)] = saved[key]
    backbone = detector.get_layer("backbone")
    done = 0
    for layer in backbone.layers:
        if layer.name in by_layer:
            ws = by_layer[layer.name]
            layer.set_weights([ws[i] for i in range(len(ws))])
            done += 1
    if done != len(by_layer):
        raise ValueError(f"{path}: {len(by_layer) - done} backbone layers not found in the model")
    return done


def pretrain_backbone(
    train: list[VocImage],
    val: list[VocImage],
    num_classes: int,
    config: DetectTrainConfig,
    strategy: Any,
    out: Path,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Train the crop classifier for `config.pretrain_steps` and save its backbone in
    `out/backbone.npz` with `out/backbone.json` ({steps, seconds, val_accuracy}). A
    finished stage (its JSON exists) is not redone, so an interrupted run resumes."""
    import keras

    from training.distribute import keras_fit_scope

    done = out / "backbone.json"
    if done.is_file():
        log.info("%s: backbone pretraining already done", done)
        return dict(json.loads(done.read_text()))
    out.mkdir(parents=True, exist_ok=True)
    steps = config.pretrain_steps
    per_epoch = min(250, steps)
    epochs = max(1, steps // per_epoch)
    with strategy.scope():
        model = build_crop_classifier(num_classes, alpha=config.alpha)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=max(1, epochs * per_epoch),
            alpha=0.02,
            warmup_target=config.learning_rate,
            warmup_steps=min(300, max(1, steps // 10)),
        )
        model.compile(
            optimizer=keras.optimizers.Adam(schedule),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    kw = {"batch_size": config.pretrain_batch_size, "seed": config.seed}
    log.info("pretraining the backbone: %d steps of %d object crops", steps, kw["batch_size"])
    start = time.monotonic()
    with keras_fit_scope(model, strategy):
        history = model.fit(
            crop_dataset(train, num_classes, config.preprocess, training=True, **kw),
            validation_data=crop_dataset(
                val[:VAL_CROPS], num_classes, config.preprocess, training=False, **kw
            ),
            epochs=epochs,
            steps_per_epoch=per_epoch,
            callbacks=[keras.callbacks.CSVLogger(str(out / "backbone_history.csv"))],
            verbose=2 if progress else 0,
        )
    save_backbone(model, out / "backbone.npz")
    result = {
        "steps": epochs * per_epoch,
        "seconds": round(time.monotonic() - start, 1),
        "val_accuracy": round(float(history.history["val_accuracy"][-1]), 4),
    }
    done.write_text(json.dumps(result) + "\n")
    return result
