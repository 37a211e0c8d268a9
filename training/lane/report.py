"""After training: validation metrics, scatter plot, exports, parity, latency, model card."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from training.export import export_tflite
from training.lane.config import LaneTrainConfig
from training.lane.data import load_lane_inputs
from training.lane.evaluate import mae_per_command, write_scatter
from training.lane.manifest import COMMANDS, LaneRecords
from training.latency import lane_latency_ms
from training.parity import check_parity, keras_steering

log = logging.getLogger(__name__)


def _calibration(train: LaneRecords, config: LaneTrainConfig) -> Any:
    """int8 calibration: real training frames, plus a black and a white frame that pin the
    image input's range to 0..255 so raw camera pixels go straight into the int8 model."""
    rng = np.random.default_rng(config.seed)
    pick = rng.choice(len(train), size=min(config.calibration_frames, len(train)), replace=False)
    chosen = train.take(np.sort(pick))
    images = load_lane_inputs(chosen, config.preprocess).astype(np.float32)
    onehot = chosen.command_onehot()
    shape = (1, *config.preprocess.shape)

    def samples() -> Any:
        for pinned in (0.0, 255.0):
            yield {"image": np.full(shape, pinned, np.float32), "command": onehot[:1]}
        for image, command in zip(images, onehot, strict=True):
            yield {"image": image[None], "command": command[None]}

    return samples


def evaluate_and_export(
    model: Any,
    train: LaneRecords,
    val: LaneRecords,
    out: Path,
    config: LaneTrainConfig,
    *,
    data: list[Path],
) -> dict[str, Any]:
    from training.lane.model import static_copy
    from training.model_card import write_lane_card

    log.info("evaluating on %d validation frames", len(val))
    val_images = load_lane_inputs(val, config.preprocess)
    predicted = keras_steering(model, val_images, val.commands)
    metrics: dict[str, Any] = {
        "datasets": [str(d) for d in data],
        "commands": {
            part: {name: int((recs.commands == c).sum()) for c, name in enumerate(COMMANDS)}
            for part, recs in (("train", train), ("validation", val))
        },
        "frames": {"train": len(train), "validation": len(val)},
        "episodes": {
            "train": int(len(np.unique(train.episodes))),
            "validation": int(len(np.unique(val.episodes))),
        },
        "validation_mae": mae_per_command(predicted, val.steering, val.commands),
        "best_epoch": _best_epoch(out),
    }
    write_scatter(out / "val_scatter.png", predicted, val.steering, val.commands)

    fixed = static_copy(
        model, preprocess=config.preprocess, activation=config.activation, width=config.width
    )
    exports = export_tflite(
        fixed, out, name="lane", output_name="steering", representative=_calibration(train, config)
    )
    rng = np.random.default_rng(config.seed + 1)
    pick = np.sort(rng.choice(len(val), size=min(config.parity_frames, len(val)), replace=False))
    reference = predicted[pick]
    metrics["exports"] = {}
    for kind, export in exports.items():
        parity = check_parity(kind, export.path, reference, val_images[pick], val.commands[pick])
        entry: dict[str, Any] = {
            "file": export.path.name,
            "bytes": export.bytes,
            "ops": list(export.ops),
            "float_islands": export.float_islands,
            "parity": parity.as_dict(),
        }
        if config.latency_runs:
            entry["latency"] = lane_latency_ms(export.path, val_images[0], runs=config.latency_runs)
        metrics["exports"][kind] = entry
        log.info("%s: parity max %.2e mean %.2e", kind, parity.max_abs, parity.mean_abs)
    write_metrics(out, metrics, config)
    write_lane_card(out, metrics, config)
    return metrics


def _best_epoch(out: Path) -> dict[str, Any] | None:
    state = out / "checkpoints" / "best.json"
    return json.loads(state.read_text()) if state.is_file() else None


def write_metrics(out: Path, metrics: dict[str, Any], config: LaneTrainConfig) -> None:
    """metrics.json (with the config that made it) and the command labels, in one-hot order."""
    (out / "lane_labels.txt").write_text("\n".join(COMMANDS) + "\n", encoding="utf-8")
    payload = {**metrics, "config": json.loads(json.dumps(asdict(config), default=str))}
    (out / "metrics.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
