"""Model cards (Markdown): data, metrics, latency, limits, intended use."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from training.lane.config import LaneTrainConfig
from training.lane.model import conv_filters

TARGET_MAE_OF_RANGE = 0.03  # quality target: validation MAE per command, share of [-1, 1]


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for package in ("tensorflow-cpu", "keras", "ai-edge-litert"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            continue
    return ", ".join(parts)


def write_lane_card(out: Path, metrics: dict[str, Any], config: LaneTrainConfig) -> Path:
    mae = metrics["validation_mae"]
    rows = [
        f"| {name} | {m['frames']} | {m['mae']:.4f} | {m['mae_of_range']:.4f} | "
        f"{'yes' if m['mae_of_range'] <= TARGET_MAE_OF_RANGE else 'no'} |"
        for name, m in mae.items()
    ]
    exports = [
        f"| `{e['file']}` | {e['bytes'] / 1024:.0f} KiB | "
        f"{e.get('latency', {}).get('median_ms', float('nan')):.3f} | "
        f"{e['parity']['max_abs']:.2e} / {e['parity']['mean_abs']:.2e} | "
        f"{e['parity']['tolerance_max']:g} / {e['parity']['tolerance_mean']:g} | "
        f"{'pass' if e['parity']['ok'] else 'FAIL'} |"
        for e in metrics["exports"].values()
    ]
    islands = [k for k, e in metrics["exports"].items() if e["float_islands"]]
    best = metrics.get("best_epoch") or {}
    pre = config.preprocess
    text = f"""# Lane model card

Conditional PilotNet (`training/lane/model.py`): Pixelopolis's lane CNN with one output
head per route command, convolution width {config.width:g}
(filters {"/".join(str(f) for f in conv_filters(24, 36, 48, 64, 64, width=config.width))}).
Activation **{config.activation}**{
        " (Pixelopolis's original; the float baseline)" if config.activation == "elu" else ""
    }.

## Intended use

Lane keeping for a Pixelopolis car in the Pixelopolis town: given the camera frame and
the route's next manoeuvre (`straight`, `left`, `right`), the normalised steering
curvature (+1 = tightest left, see `city/kinematics.py`). The planner turns it into wheel
speeds. Not for other cameras, mounts, road markings or full-size vehicles.

## Inputs and outputs

- `image`: (1, {pre.height}, {pre.width}, 3) YUV pixels 0..255 from
  `vehicle.perception.lane_input` (band {pre.crop_top:g}..{pre.crop_bottom:g} of the frame
  height). float32 in the float exports, uint8 (scale 1, zero point 0) in the int8 export.
- `command`: (1, 3) one-hot in the order of `lane_labels.txt`.
- `steering`: (1, 1), float32 (int8 in the int8 export; dequantise with its scale).
- Run with `vehicle.perception.lane_model.LaneModel`.

## Data

{", ".join(f"`{d}`" for d in metrics["datasets"])}:
{metrics["frames"]["train"]} training frames from
{metrics["episodes"]["train"]} episodes, {metrics["frames"]["validation"]} validation
frames from {metrics["episodes"]["validation"]} held-out episodes (split by drive, never
by frame). Simulator renders with domain randomisation and expert recoveries
(docs/datasets.md). Training draws frames steering-balanced (strength {config.balance}) and
command-balanced (strength {config.command_balance}) with photometric augmentation the
car never sees. Frames per command (train / validation): {
        ", ".join(
            f"{c} {metrics['commands']['train'][c]} / {metrics['commands']['validation'][c]}"
            for c in metrics["commands"]["train"]
        )
    }.

## Validation metrics (Keras model)

Best epoch {best.get("epoch", "?")} of at most {config.epochs}. Target: MAE at most
{TARGET_MAE_OF_RANGE} of the full steering range (range 2, so MAE 0.06) for every command.

| command | frames | MAE | MAE / range | meets target |
|---|---|---|---|---|
{chr(10).join(rows)}

![validation scatter](val_scatter.png)

## Exports, parity and latency

Latency: median of `LaneModel.predict` (LiteRT, one thread, XNNPACK) on
{platform.machine()}, {platform.processor() or "CPU"}. Parity: |TFLite - Keras| steering on
{next(iter(metrics["exports"].values()))["parity"]["frames"]} validation frames.

| file | size | latency ms | parity max / mean | tolerance max / mean | |
|---|---|---|---|---|---|
{chr(10).join(exports)}

{
        "Float islands (DEQUANTIZE/QUANTIZE inside the int8 model, not Edge-TPU ready): "
        + ", ".join(islands)
        + "."
        if islands
        else "The int8 export is integer-only inside."
    }

## Limits

- Trained and validated only on simulated frames; real-camera accuracy is unmeasured
  until real frames are collected.
- Open-loop metrics: the closed-loop score comes from `pixelopolis eval drive`.
- The command is the next junction's manoeuvre; a wrong command makes a wrong turn.
- Built with {_versions()}.
"""
    path = out / "model_card.md"
    path.write_text(text, encoding="utf-8")
    return path
