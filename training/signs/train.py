"""`pixelopolis train signs`: VOC folders -> sign crops -> small CNN -> TFLite -> model card.

The run is short (minutes), so it has no resume: crops are built in memory, the network
trains for a fixed number of steps on a warm-up-then-cosine schedule, and the final
weights ship (the schedule ends at a small learning rate; the validation accuracy every
`eval_every` steps lands in history.csv).
"""

from __future__ import annotations

import csv
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.detect.dataset import VocImage, load_split, read_labels
from training.lane.config import TrainingError
from training.signs.config import SignsTrainConfig
from training.signs.samples import build_crops, sign_classes, sign_sizes

log = logging.getLogger(__name__)

CARD = "model_card.md"
OUTPUTS = (
    "signs.keras",
    "signs_float32.tflite",
    "signs_int8.tflite",
    "signs_labels.txt",
    CARD,
    "metrics.json",
    "history.csv",
)


def prepare_out(out: Path, *, force: bool) -> None:
    """Refuse a non-empty `out` unless `force`; with it, remove this command's outputs."""
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--out {out}: not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise TrainingError(f"--out {out}: not empty; use --force to replace its model")
        for name in OUTPUTS:
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def load_datasets(
    data: Sequence[Path], config: SignsTrainConfig
) -> tuple[list[str], list[VocImage], list[VocImage]]:
    """(classifier classes, training images, validation images) of one or more datasets,
    which must share their classes (those of the sign catalogue, then `car`)."""
    if not data:
        raise TrainingError("--data: give at least one detection dataset")
    labels = read_labels(data[0])
    classes = sign_classes(labels)
    train: list[VocImage] = []
    val: list[VocImage] = []
    for folder in data:
        if read_labels(folder) != labels:
            raise TrainingError(f"--data {folder}: its classes differ from those of {data[0]}")
        train += load_split(folder, "train", max_images=config.max_images)
        val += load_split(folder, "val", max_images=config.max_images)
    return classes, train, val


def train_signs(
    data: Sequence[Path],
    out: Path,
    config: SignsTrainConfig | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    unseen: Path | None = None,
) -> dict[str, Any]:
    """Train, export and document the sign classifier; returns what metrics.json holds.

    `unseen`: a second detection dataset (another seed and city) on which the two-stage
    pipeline is also measured.
    """
    config = config or SignsTrainConfig()
    data = [Path(d) for d in data]
    out = Path(out)
    classes, train_images, val_images = load_datasets(data, config)
    if unseen is not None and read_labels(unseen) != read_labels(data[0]):
        raise TrainingError(f"--unseen {unseen}: its classes differ from those of {data[0]}")
    prepare_out(out, force=force)
    background = len(classes) - 1
    start = time.monotonic()
    sizes = sign_sizes(train_images, background)
    kw = {"workers": 2, "progress": progress}
    train = build_crops(
        train_images, background, sizes, config, draws=config.draws, seed=config.seed, **kw
    )
    val = build_crops(
        val_images, background, sizes, config, draws=1, seed=config.seed + 1, desc="val", **kw
    )
    if not (val.labels != background).any():
        raise TrainingError("the validation split holds no (non-difficult) sign")
    crop_seconds = time.monotonic() - start

    import keras

    from training.signs.batches import training_dataset
    from training.signs.model import build_sign_model

    keras.utils.set_random_seed(config.seed)
    model = build_sign_model(len(classes), crop=config.crop, dropout=config.dropout)
    warmup = min(config.warmup_steps, config.steps // 5)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 10 if warmup else config.learning_rate,
        decay_steps=max(1, config.steps - warmup),
        alpha=0.02,
        warmup_target=config.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    batches = training_dataset(
        train,
        background,
        batch_size=config.batch_size,
        background_share=config.background_share,
        seed=config.seed,
        augmented=config.augment,
    )
    history = _fit(model, batches, val, background, config, out / "history.csv", progress)
    seconds = time.monotonic() - start
    log.info("trained %d steps in %.0f s (crops %.0f s)", config.steps, seconds, crop_seconds)
    model.save(out / "signs.keras")
    from training.signs.report import evaluate_and_export

    return evaluate_and_export(
        model,
        classes,
        train,
        val,
        val_images,
        out,
        config,
        datasets=data,
        train_seconds=seconds,
        history=history,
        unseen=unseen,
        progress=progress,
    )


def _fit(
    model: Any,
    batches: Any,
    val: Any,
    background: int,
    config: SignsTrainConfig,
    history_path: Path,
    progress: bool,
) -> list[dict[str, Any]]:
    """`config.steps` training steps with a progress bar, validating every `eval_every`."""
    from tqdm import tqdm

    from training.signs.report import keras_probs

    history: list[dict[str, Any]] = []
    losses: list[float] = []
    accuracies: list[float] = []
    is_sign = val.labels != background
    bar = tqdm(total=config.steps, disable=not progress, unit="step", desc="signs")
    with bar, history_path.open("w", newline="") as f:
        writer = csv.DictWriter(
            f, ["step", "loss", "accuracy", "val_accuracy", "val_sign_accuracy", "seconds"]
        )
        writer.writeheader()
        start = time.monotonic()
        for step, (x, y) in enumerate(batches.take(config.steps), start=1):
            logs = model.train_on_batch(x, y, return_dict=True)
            losses.append(float(logs["loss"]))
            accuracies.append(float(logs["accuracy"]))
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
            if step % config.eval_every and step != config.steps:
                continue
            right = keras_probs(model, val).argmax(1) == val.labels
            row = {
                "step": step,
                "loss": round(float(np.mean(losses[-config.eval_every :])), 4),
                "accuracy": round(float(np.mean(accuracies[-config.eval_every :])), 4),
                "val_accuracy": round(float(right.mean()), 4),
                "val_sign_accuracy": round(float(right[is_sign].mean()), 4),
                "seconds": round(time.monotonic() - start, 1),
            }
            writer.writerow(row)
            f.flush()
            history.append(row)
            log.info("step %d: %s", step, row)
    return history
