"""The detector's model card (Markdown): data, metrics, exports, latency, limits, use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.detect.config import DetectTrainConfig
from training.model_card import _versions

TARGET_MAP50 = 0.90
TARGET_INT8_MS = 6.6


def _fmt(value: Any, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def _class_rows(metrics: dict[str, Any]) -> list[str]:
    exports = metrics["exports"]
    kinds = list(exports)
    rows = []
    for name in metrics["classes"]:
        cells = []
        for kind in kinds:
            for split in ("validation", "unseen"):
                result = exports[kind].get(split)
                if result is not None:
                    cells.append(_fmt(result["per_class"][name]["ap"]))
        count = exports[kinds[0]]["validation"]["per_class"][name]["objects"]
        rows.append(f"| {name} | {count} | " + " | ".join(cells) + " |")
    return rows


def write_detect_card(out: Path, metrics: dict[str, Any], config: DetectTrainConfig) -> Path:
    exports = metrics["exports"]
    kinds = list(exports)
    has_unseen = all("unseen" in e for e in exports.values())
    splits = ["validation", "unseen"] if has_unseen else ["validation"]
    head = " | ".join(f"{k} {s}" for k in kinds for s in splits)
    rule = "|---|---|" + "---|" * (len(kinds) * len(splits))
    overall = " | ".join(f"**{_fmt(exports[k][s]['map'])}**" for k in kinds for s in splits)
    coco = " | ".join(f"{_fmt(exports[k][s]['coco']['map'])}" for k in kinds for s in splits)
    export_rows = []
    for e in exports.values():
        lat = e.get("latency") or {}
        p = e["parity"]
        export_rows.append(
            f"| `{e['file']}` | {e['bytes'] / 1024:.0f} KiB | {_fmt(lat.get('median_ms'))} | "
            f"{_fmt(lat.get('p99_ms'))} | {p['boxes_max_abs']:.2e} / {p['scores_max_abs']:.2e} | "
            f"{p['boxes_mean_abs']:.2e} / {p['scores_mean_abs']:.2e} | "
            f"{'pass' if p['ok'] else 'FAIL'} | "
            f"{'yes' if e['edgetpu']['compatible'] else 'no'} |"
        )
    data = metrics["dataset"]
    unseen = metrics.get("unseen_dataset")
    pre = config.preprocess
    drop = ""
    if "float32" in exports and "int8" in exports:
        f, q = exports["float32"]["validation"]["map"], exports["int8"]["validation"]["map"]
        if f is not None and q is not None:
            drop = f"int8 vs float32 mAP@0.5 on validation: {q - f:+.3f}. "
    if has_unseen:
        for kind in kinds:
            v, u = exports[kind]["validation"]["map"], exports[kind]["unseen"]["map"]
            if v is not None and u is not None:
                drop += f"{kind} unseen vs validation: {u - v:+.3f}. "
    best = metrics.get("best_epoch") or {}
    note = (metrics.get("training") or {}).get("note")
    int8_ms = (exports.get("int8", {}).get("latency") or {}).get("median_ms")
    steps = config.steps_per_epoch or "one pass"
    cmd = (
        f"pixelopolis train detect --data {data['path']} --out OUT --epochs {config.epochs} "
        f"--steps-per-epoch {steps} --batch-size {config.batch_size} "
        f"--input-size {pre.size} --alpha {config.alpha} --seed {config.seed}"
        + (f" --unseen {unseen['path']}" if unseen else "")
    )
    text = f"""# Detector model card

SSDLite with a MobileNetV2 backbone (width {config.alpha}, no pretrained weights), input
{pre.size}x{pre.size}, {metrics["anchors"]} anchors on five feature maps (strides 8 to
128, with a top-down path into the stride-16 and stride-8 maps), sigmoid focal loss plus
{config.class_ce_weight:g} x softmax cross-entropy on positive anchors, smooth-L1 box loss
(`training/detect/`). Exported with the `TFLite_Detection_PostProcess`
op: outputs `boxes`, `classes`, `scores`, `count`.

## Intended use

Spotting the Pixelopolis town's signs ({len(metrics["classes"]) - 1} types: colour and
shape) and other cars in a Pixelopolis car's camera frame, for route localisation and
car-ahead stops. Not for real traffic signs, people, or other cameras and mounts.

## Inputs and outputs

- `image`: (1, {pre.size}, {pre.size}, 3) RGB pixels 0..255 from
  `vehicle.perception.detector_input` (the whole frame stretched to the square). float32
  in the float export, uint8 (scale 1, zero point 0) in the int8 export.
- `boxes` (1, 20, 4) normalised (ymin, xmin, ymax, xmax); `classes` (1, 20) ids into
  `detect_labels.txt`; `scores` (1, 20); `count` (1,). Rows past `count` are garbage.
- Run with `vehicle.perception.Detector(DetectorConfig(model=..., labels=...))`.

## Data and training

- Training data: `pixelopolis sim detect --out DATA --images {data["images"]} --seed
  {data["seed"]}` (city: {data["city"]}); {metrics["images"]["train"]} training and
  {metrics["images"]["validation"]} validation images (every 10th image).
- Command: `{cmd}`
- Training time: {metrics["train_seconds"] / 60:.1f} min on {metrics["machine"]} (2 shared
  cores, no GPU, `nice -n 19`). Best epoch (validation loss): {best.get("epoch", "?")}.{
        chr(10) + "- **Note:** " + note if note else ""
    }
- Augmentation (training only): random crops, horizontal flips, brightness, contrast, a
  slight per-channel gain, noise, blur. No hue shifts: colour names the sign.
{
        f'''- Unseen-settings set: `pixelopolis sim detect --out UNSEEN --images {unseen["images"]}
  --seed {unseen["seed"]} --city {unseen["city_path"]}` ({unseen["city"]}, a generated grid
  city the training data never showed; other random looks), all {unseen["images_scored"]}
  images scored.'''
        if unseen
        else ""
    }

## Metrics (the TFLite files, run as the car runs them)

Pascal VOC AP@0.5 per class (our code, difficult boxes ignored) on
{metrics["images"]["scored"]} validation images. Target: mAP@0.5 >= {TARGET_MAP50}.

| class | val objects | {head} |
{rule}
{chr(10).join(_class_rows(metrics))}
| **mAP@0.5** | | {overall} |
| COCO mAP@[.5:.95] (pycocotools) | | {coco} |

{drop}

## Exports, parity, latency

Latency: `Detector.detect_input` (LiteRT, one thread, XNNPACK for float), median and p99,
target int8 <= {TARGET_INT8_MS} ms{
        f" (measured {int8_ms:.2f} ms)" if int8_ms is not None else ""
    }. Parity: |TFLite - Keras| of the post-process op's inputs (box encodings / scores)
on {next(iter(exports.values()))["parity"]["images"]} validation images. Edge TPU:
static check that every op before the post-process is int8 and an Edge TPU op
(`training.detect.export.edgetpu_compatibility`; `edgetpu_compiler` is not available here).

| file | size | median ms | p99 ms | parity max (box / score) | parity mean | | Edge TPU ready |
|---|---|---|---|---|---|---|---|
{chr(10).join(export_rows)}

## Limits

- Simulated frames only; accuracy on a real camera is unmeasured.
- Small, distant or edge-on signs (VOC "difficult") are not scored and often missed.
- Trained within a ~1 hour CPU budget from random weights; more steps would help.
- Built with {_versions()}.
"""
    path = out / "model_card.md"
    path.write_text(text, encoding="utf-8")
    return path
