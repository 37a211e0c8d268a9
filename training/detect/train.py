"""`pixelopolis train detect`: VOC folder -> Keras SSDLite -> TFLite exports -> model card.

Rerunning with the same --out resumes an interrupted run from its last finished epoch
(Keras BackupAndRestore); once training has finished (`checkpoints/trained.json`), a
rerun only redoes the export and report. The best weights by validation loss ship.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from training.detect.config import DetectTrainConfig
from training.detect.dataset import load_split, read_labels
from training.distribute import is_chief, keras_fit_scope, make_strategy
from training.lane.config import TrainingError

log = logging.getLogger(__name__)

CARD = "model_card.md"
OUTPUTS = ("detect.keras", "metrics.json", CARD, "detect_labels.txt", "history.csv")
VAL_LOSS_IMAGES = 240  # validation images scored for the loss after every epoch


def _prepare_out(out: Path, *, force: bool, reexport: bool) -> None:
    if reexport:
        if not (out / "checkpoints" / "trained.json").is_file():
            raise TrainingError(f"{out}: no finished training to re-export")
        return
    if (out / CARD).exists():
        if not force:
            raise TrainingError(f"{out}: holds a finished detector; use --force to replace it")
        for name in (*OUTPUTS, "logs", "checkpoints"):
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        for stale in out.glob("detect_*.tflite"):
            stale.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _schedule(config: DetectTrainConfig, total_steps: int) -> Any:
    import keras

    warmup = min(config.warmup_steps, max(1, total_steps // 5))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 10,
        decay_steps=max(1, total_steps - warmup),
        alpha=0.02,
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
    )


def train_detect(
    data: Path,
    out: Path,
    config: DetectTrainConfig | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    unseen: Path | None = None,
    reexport: bool = False,
) -> dict[str, Any]:
    """Train, export and document the detector; returns the metrics written to metrics.json.

    `unseen`: a second detection dataset (other seed and city) also scored in the card.
    `reexport`: redo only the exports and report of a finished run in `out`.
    """
    config = config or DetectTrainConfig()
    data, out = Path(data), Path(out)
    labels = read_labels(data)
    train = load_split(data, "train", max_images=config.max_images)
    val = load_split(data, "val", max_images=config.max_images)
    if len(train) < config.batch_size:
        raise TrainingError(
            f"batch_size: {config.batch_size} is more than the {len(train)} training images"
        )
    if unseen is not None and read_labels(unseen) != labels:
        raise TrainingError(f"{unseen}: its classes differ from those of {data}")
    _prepare_out(out, force=force, reexport=reexport)
    log.info("%d training, %d validation images, %d classes", len(train), len(val), len(labels))
    strategy = make_strategy(config.strategy)  # first TensorFlow work of the run
    import keras

    from training.detect import data as pipeline
    from training.detect.anchors import generate_anchors
    from training.detect.loss import box_loss, class_loss
    from training.detect.model import build_detector
    from training.lane.callbacks import best_checkpoint

    keras.utils.set_random_seed(config.seed)
    anchors = generate_anchors(config.preprocess.size)
    chief = is_chief()
    checkpoints = out / "checkpoints" if chief else out / "checkpoints" / "workers"
    steps = config.steps_per_epoch or max(1, len(train) // config.batch_size)
    with strategy.scope():
        model = build_detector(
            len(labels),
            preprocess=config.preprocess,
            alpha=config.alpha,
            weight_decay=config.weight_decay,
        )
        model.compile(
            optimizer=keras.optimizers.Adam(_schedule(config, steps * config.epochs)),
            loss={"boxes": box_loss, "classes": class_loss(config.class_ce_weight)},
        )
    done = checkpoints / "trained.json"
    seconds = 0.0
    if done.is_file():
        log.info("%s: training already finished; exporting the best weights", done)
        seconds = float(json.loads(done.read_text()).get("seconds", 0.0))
    else:
        pretrain_seconds = 0.0
        if config.pretrain_steps:
            from training.detect.pretrain import load_backbone, pretrain_backbone

            pre = pretrain_backbone(
                train, val, len(labels), config, strategy, checkpoints, progress=progress
            )
            load_backbone(model, checkpoints / "backbone.npz")
            log.info("backbone pretrained: %s", pre)
            pretrain_seconds = float(pre["seconds"])
        callbacks = [
            keras.callbacks.BackupAndRestore(str(checkpoints / "backup")),
            best_checkpoint(checkpoints),
            keras.callbacks.EarlyStopping(patience=config.patience, monitor="val_loss"),
            keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
        ]
        if importlib.util.find_spec("tensorboard") is not None:
            callbacks.append(keras.callbacks.TensorBoard(str(out / "logs"), update_freq="epoch"))
        else:
            log.warning("tensorboard is not installed: no TensorBoard logs")
        clock = checkpoints / "seconds.json"  # training time, summed over interruptions
        before = float(json.loads(clock.read_text())["seconds"]) if clock.is_file() else 0.0
        start = time.monotonic()

        def tick(epoch: int, logs: dict | None = None) -> None:
            if chief:
                clock.write_text(json.dumps({"seconds": before + time.monotonic() - start}))

        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=tick))
        with keras_fit_scope(model, strategy):
            model.fit(
                pipeline.training_dataset(train, anchors, config),
                validation_data=pipeline.validation_dataset(val[:VAL_LOSS_IMAGES], anchors, config),
                epochs=config.epochs,
                steps_per_epoch=steps,
                callbacks=callbacks,
                verbose=1 if progress else 0,
            )
        seconds = pretrain_seconds + before + time.monotonic() - start
        if chief:
            done.write_text(json.dumps({"seconds": round(seconds, 1), "steps": steps}) + "\n")
    if not chief:
        return {}
    best = checkpoints / "best.weights.h5"
    if best.is_file():
        model.load_weights(best)
    model.save(out / "detect.keras")
    from training.detect.report import evaluate_and_export

    return evaluate_and_export(
        model, labels, train, val, out, config, data=data, train_seconds=seconds, unseen=unseen
    )
