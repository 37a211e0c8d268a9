"""The sign classifier's model card (Markdown): data, accuracy, the two-stage pipeline,
exports, parity, latency, limits and intended use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.model_card import _versions
from training.signs.config import SignsTrainConfig
from training.signs.model import LAYOUT

TARGET_SIGN_ACCURACY = 0.90
TARGET_MS = 0.3


def _fmt(value: Any, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def command(metrics: dict[str, Any], config: SignsTrainConfig, out: Path) -> str:
    """The `pixelopolis train signs` command line that made this run."""
    data = " ".join(f"--data {d['path']}" for d in metrics["datasets"])
    unseen = metrics.get("unseen_dataset")
    return (
        f"pixelopolis train signs {data} --out {out} --steps {config.steps} "
        f"--batch-size {config.batch_size} --learning-rate {config.learning_rate:g} "
        f"--seed {config.seed}" + (f" --unseen {unseen['path']}" if unseen else "")
    )


def _class_rows(metrics: dict[str, Any]) -> list[str]:
    keras = metrics["keras_validation"]["per_class"]
    exports = metrics["exports"]
    rows = []
    for name, v in keras.items():
        cells = [_fmt(v["accuracy"])] + [
            _fmt(e["validation"]["per_class"][name]["accuracy"]) for e in exports.values()
        ]
        rows.append(f"| {name} | {v['crops']} | " + " | ".join(cells) + " |")
    return rows


def _pipeline_section(metrics: dict[str, Any], config: SignsTrainConfig) -> str:
    pipeline = metrics.get("pipeline") or {}
    if not pipeline:
        return "Not measured (no detector file, or `pipeline_images` 0)."
    kinds = list(metrics["exports"])
    near_rows, map_rows = [], []
    for name, p in pipeline.items():
        n = p["near_signs"]
        near_rows.append(
            f"| {name} | {p['images']} | {n['signs']} | {n['matched']} | "
            f"**{_fmt(n['detector_accuracy'])}** | "
            + " | ".join(f"**{_fmt(n.get(f'{k}_accuracy'))}**" for k in kinds)
            + f" | {n['matched_as_car']} |"
        )
        runs = ["detector"] + [f"two_stage_{k}{cut}" for cut in ("", "_cut") for k in kinds]
        runs += [f"joint_{k}" for k in kinds]
        for run in runs:
            r = p[run]
            map_rows.append(
                f"| {name} | {run} | {_fmt(r['map'])} | {_fmt(r['coco']['map'])} | "
                f"{_fmt(r['per_class'].get('car', {}).get('ap'))} |"
            )
    detector = Path(metrics["detector"]["model"]).name
    score = f"{config.detector_min_score:g}"
    heads = " | ".join(f"classifier {k} right" for k in kinds)
    return f"""The shipped detector (`{detector}`) finds the boxes; the question is who names
them better. **Near-sign naming**: every non-difficult sign at least
{config.near_height:g} of the frame tall that a detector box scoring >= {score}
overlaps with IoU >= 0.5; the best-overlapping box's label from the detector, and from
the classifier on that box (`background` counts as wrong). Boxes the detector called
`car` are counted in the last column (the car's `relabel` would keep them as cars).

| set | images | near signs | boxed | detector right | {heads} | boxed as car |
|---|---|---|---|---|{"---|" * len(kinds)}---|
{chr(10).join(near_rows)}

**mAP** of the detector's boxes (score >= 0.01) with the detector's labels, and relabelled
by `SignClassifier.relabel` (score = class probability, min_prob 0: `two_stage_*`); the
`_cut` rows relabel only boxes scoring >= {score}, as the car filters
before naming. The `joint_*` rows (not what the car does) name boxes as `relabel` does but
score them by detector score x class probability: the int8 softmax has steps of 1/256,
so `relabel` ties most confident boxes, right and duplicate alike, at 0.996. Same VOC code
as `pixelopolis eval detect` (difficult boxes ignored).

| set | boxes named by | VOC mAP@0.5 | COCO mAP@[.5:.95] | car AP@0.5 |
|---|---|---|---|---|
{chr(10).join(map_rows)}
"""


def write_signs_card(out: Path, metrics: dict[str, Any], config: SignsTrainConfig) -> Path:
    exports = metrics["exports"]
    kinds = list(exports)
    keras = metrics["keras_validation"]
    crops = metrics["crops"]
    export_rows = []
    for e in exports.values():
        lat = e.get("latency") or {}
        p = e["parity"]
        export_rows.append(
            f"| `{e['file']}` | {e['bytes'] / 1024:.0f} KiB | {_fmt(lat.get('median_ms'))} | "
            f"{_fmt(lat.get('p90_ms'))} | {p['max_abs']:.2e} / {p['mean_abs']:.2e} | "
            f"{p['top1_agreement']:.4f} | {p['bound']} | {'pass' if p['ok'] else 'FAIL'} |"
        )
    summary_rows = [
        f"| {label} | {_fmt(keras[key])} | "
        + " | ".join(_fmt(e["validation"][key]) for e in exports.values())
        + " |"
        for label, key in (
            ("signs (jittered boxes)", "sign_accuracy"),
            ("background", "background_accuracy"),
            ("all crops", "accuracy"),
        )
    ]
    by_source = ", ".join(f"{k} {_fmt(v)}" for k, v in keras["background_by_source"].items())
    errors = ", ".join(f"{k} {v}" for k, v in sorted(keras["errors"].items(), key=lambda i: -i[1]))
    confusions = ", ".join(
        f"{c['truth']} -> {c['predicted']} ({c['crops']})" for c in keras["top_confusions"]
    )
    datasets = ", ".join(
        f"`{d['path']}` ({d['images']} images, seed {d['seed']}, {d['city']})"
        for d in metrics["datasets"]
    )
    unseen = metrics.get("unseen_dataset")
    layout = " -> ".join("MaxPool" if i == "P" else f"Conv {i}" for i in LAYOUT)
    sign_ok = (keras["sign_accuracy"] or 0) >= TARGET_SIGN_ACCURACY
    int8_ms = (exports.get("int8", {}).get("latency") or {}).get("median_ms")
    last = metrics["history"][-1] if metrics["history"] else {}
    text = f"""# Sign classifier model card

The second stage of sign recognition: the detector finds a sign's box, this small CNN
names the sign in it. Input a {config.crop.size}x{config.crop.size} crop of the box
(`vehicle.perception.sign_crop`: widened by {config.crop.margin:g} of its size per side,
stretched to the square); output softmax probabilities over the
{len(metrics["classes"]) - 1} sign types and `background`. Network
(`training/signs/model.py`): Rescaling to [-1, 1] -> {layout} (3x3, batch norm, ReLU)
-> global average pooling -> Dense 128 -> Dropout {config.dropout:g} -> Dense
{len(metrics["classes"])} softmax `probs`; {metrics["params"]:,} parameters.

## Intended use

Naming the Pixelopolis town's signs ({len(metrics["classes"]) - 1} types: colour and
shape) inside the boxes the Pixelopolis detector finds, and rejecting boxes with no sign
(`background`), on a Pixelopolis car (`vehicle.perception.sign_classifier.SignClassifier`,
`relabel`). Not a detector: it does not look for signs. Not for real traffic signs, or
for boxes from another detector without checking.

## Inputs and outputs

- `image`: (1, {config.crop.size}, {config.crop.size}, 3) RGB pixels 0..255 from
  `vehicle.perception.sign_crop`. float32 in the float export, uint8 (scale 1, zero
  point 0) in the int8 export.
- `probs`: (1, {len(metrics["classes"])}) softmax in the order of `signs_labels.txt`
  (int8 in the int8 export; dequantise with its scale).

## Data and training

- Data: {datasets}; the detection dataset's train split for training,
  its val split (every 10th image, {metrics["validation_images"]} images) for validation.
- Crops (`training/signs/samples.py`): every non-difficult sign with its true box shifted
  and scaled by up to {config.jitter:g} of its size (IoU with the truth >= {config.min_iou:g}),
  {config.draws} such boxes per training sign; background: every car box (jittered the
  same way) and one random sign-sized box per image and draw with IoU <
  {config.background_max_iou:g} with every sign (and covering at most half of one). Training {
        crops["train"]["sign"]
    } sign
  + {crops["train"]["background"]} background crops; validation (one draw, another seed)
  {crops["validation"]["sign"]} sign + {crops["validation"]["background"]} background crops.
- Batches: {config.batch_size} crops, {config.background_share:.0%} background on average;
  augmentation brightness, contrast, noise, blur only (never hue or channel order:
  colour is half of a sign's name; no flips).
- Command: `{command(metrics, config, out)}`
- {config.steps} steps of Adam (warm-up {min(config.warmup_steps, config.steps // 5)}, cosine from
  {config.learning_rate:g}), seed {config.seed}: {metrics["train_seconds"] / 60:.1f} min
  including the crops, on {metrics["machine"]} (CPU only). The final
  weights ship (validation accuracy at the last step {_fmt(last.get("val_accuracy"))}).

## Validation accuracy

On the validation crops (jittered boxes as a detector gives them, all sign sizes down to
VOC-difficult's cut, about 10 pixels tall). Target: sign accuracy >= {TARGET_SIGN_ACCURACY}
({"met" if sign_ok else "NOT met"}).

| crops | Keras | {" | ".join(kinds)} |
|---|---|{"---|" * len(kinds)}
{chr(10).join(summary_rows)}

Background crops rejected, by source (Keras): {by_source}.
Errors (Keras): {errors}. Most frequent confusions: {confusions}.

| class | crops | Keras | {" | ".join(kinds)} |
|---|---|---|{"---|" * len(kinds)}
{chr(10).join(_class_rows(metrics))}

## The two-stage pipeline

{_pipeline_section(metrics, config)}
{
        f"Unseen set: `{unseen['path']}` ({unseen['images']} images, seed {unseen['seed']}, "
        f"{unseen['city']}), every image."
        if unseen
        else ""
    }

## Exports, parity, latency

Latency: `SignClassifier.probabilities` on one crop (LiteRT, one thread, XNNPACK),
median and p90; target <= {TARGET_MS} ms per crop{
        f" (int8 {int8_ms:.3f} ms)" if int8_ms is not None else ""
    }. Parity: TFLite (through `SignClassifier`, crop by crop) vs the Keras model on all
{next(iter(exports.values()))["parity"]["crops"]} validation crops.
int8 ops: {", ".join(exports["int8"]["ops"]) if "int8" in exports else "n/a"}
({"all Edge TPU ops" if exports.get("int8", {}).get("edgetpu_ops") else "NOT all Edge TPU ops"}).

| file | size | median ms | p90 ms | max / mean abs prob diff | top-1 agreement | bound | |
|---|---|---|---|---|---|---|---|
{chr(10).join(export_rows)}

## Limits

- Simulated frames only; accuracy on a real camera is unmeasured.
- Tiny signs (10-20 pixels tall) are named less reliably than near ones; the validation
  crops include them.
- It names whatever box it is given: a box that cuts a sign in half, or holds two, can be
  named wrongly with confidence. `background` covers cars and road, not every object.
- Built with {_versions()}.
"""
    path = out / "model_card.md"
    path.write_text(text, encoding="utf-8")
    return path
