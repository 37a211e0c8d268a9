"""`pixelopolis train lane`: manifest -> Keras model -> TFLite exports -> model card.

Rerunning with the same --out resumes an interrupted run from its last finished epoch
(Keras BackupAndRestore); the best weights by validation loss are what ship.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.distribute import is_chief, keras_fit_scope, make_strategy
from training.lane.config import LaneTrainConfig, TrainingError
from training.lane.manifest import load_manifests, split_by_episode

log = logging.getLogger(__name__)

CARD = "model_card.md"
OUTPUTS = ("lane.keras", "metrics.json", CARD, "lane_labels.txt", "val_scatter.png", "history.csv")


def _prepare_out(out: Path, *, force: bool) -> None:
    if (out / CARD).exists():
        if not force:
            raise TrainingError(f"{out}: holds a finished lane model; use --force to replace it")
        for name in (*OUTPUTS, "logs", "checkpoints"):
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        for stale in out.glob("lane_*.tflite"):
            stale.unlink()
    out.mkdir(parents=True, exist_ok=True)


def train_lane(
    data: Path | Sequence[Path],
    out: Path,
    config: LaneTrainConfig | None = None,
    *,
    force: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Train, export and document the lane model; returns the metrics written to metrics.json.

    `data` is one lane dataset folder or several (say, one per city), trained on as one.
    """
    config = config or LaneTrainConfig()
    folders = [Path(data)] if isinstance(data, str | Path) else [Path(d) for d in data]
    out = Path(out)
    records = load_manifests(folders, max_frames=config.max_frames)
    train, val = split_by_episode(records, val_share=config.val_share, seed=config.seed)
    if len(train) < config.batch_size:
        raise TrainingError(
            f"batch_size: {config.batch_size} is more than the {len(train)} training frames"
        )
    _prepare_out(out, force=force)
    log.info(
        "%d frames: %d train, %d validation (%d validation episodes)",
        len(records),
        len(train),
        len(val),
        len(np.unique(val.episodes)),
    )
    strategy = make_strategy(config.strategy)  # first TensorFlow work of the run
    import keras

    from training.lane import data as pipeline
    from training.lane.callbacks import best_checkpoint
    from training.lane.model import build_lane_model

    keras.utils.set_random_seed(config.seed)
    chief = is_chief()
    checkpoints = out / "checkpoints" if chief else out / "checkpoints" / "workers"
    with strategy.scope():
        model = build_lane_model(
            preprocess=config.preprocess,
            activation=config.activation,
            dropout=config.dropout,
            width=config.width,
        )
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate),
            loss=keras.losses.Huber(delta=0.1),
            metrics=[keras.metrics.MeanAbsoluteError(name="mae")],
        )
    callbacks = [
        keras.callbacks.BackupAndRestore(str(checkpoints / "backup")),
        best_checkpoint(checkpoints),
        keras.callbacks.EarlyStopping(patience=config.patience, monitor="val_loss"),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=config.lr_patience, min_lr=1e-5
        ),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
    ]
    if importlib.util.find_spec("tensorboard") is not None:
        callbacks.append(keras.callbacks.TensorBoard(str(out / "logs"), update_freq="epoch"))
    else:
        log.warning("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")
    with keras_fit_scope(model, strategy):
        model.fit(
            pipeline.training_dataset(train, config),
            validation_data=pipeline.validation_dataset(val, config),
            epochs=config.epochs,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=callbacks,
            verbose=1 if progress else 0,
        )
    if not chief:
        return {}
    best = checkpoints / "best.weights.h5"
    if best.is_file():
        model.load_weights(best)
    model.save(out / "lane.keras")
    from training.lane.report import evaluate_and_export

    return evaluate_and_export(model, train, val, out, config, data=folders)
