"""A tiny sign-classifier run end to end: crops, a few steps, both exports loaded by the
car's `SignClassifier`, float parity, the two-stage figures, `eval detect --classifier`;
plus the CLI's bad input (exit code 2, one line).

The dataset is made here by `pixelopolis sim detect --images 40` (under a second); the
shared run takes about 15 s on an idle 2-core machine, most of it the two conversions.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from city.signs import sign_names
from pixelopolis.cli import main
from training.detect.dataset import load_split
from training.signs import SignsTrainConfig
from vehicle.perception.detector import MODELS_DIR

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

pytestmark = pytest.mark.timeout(600)

TINY = SignsTrainConfig(
    steps=20,
    batch_size=16,
    eval_every=10,
    calibration_crops=32,
    latency_runs=5,
    pipeline_images=4,
)


@pytest.fixture(scope="module")
def signs_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("signs") / "detect40"
    args = ["sim", "detect", "--out", str(out), "--images", "40", "--seed", "3", "--workers", "2"]
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def run(signs_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from training.signs.train import train_signs

    out = tmp_path_factory.mktemp("signs-run")
    metrics = train_signs([signs_dataset], out, TINY, progress=False, unseen=signs_dataset)
    return out, metrics


def test_a_run_writes_every_file(run):
    out, metrics = run
    for name in (
        "signs.keras",
        "signs_float32.tflite",
        "signs_int8.tflite",
        "signs_labels.txt",
        "model_card.md",
        "metrics.json",
        "history.csv",
    ):
        assert (out / name).is_file(), name
    labels = (out / "signs_labels.txt").read_text().split()
    assert labels == [*sign_names(), "background"]
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["classes"] == labels and set(saved["exports"]) == {"float32", "int8"}
    assert saved["history"][-1]["step"] == TINY.steps
    for e in saved["exports"].values():
        assert e["bytes"] < 1024 * 1024
        assert 0 <= e["validation"]["sign_accuracy"] <= 1
    card = (out / "model_card.md").read_text()
    for heading in ("## Intended use", "## Data and training", "## Validation accuracy"):
        assert heading in card
    assert "## The two-stage pipeline" in card and "pixelopolis train signs --data" in card


def test_exports_load_in_the_car_runner_and_float_matches_keras(run, signs_dataset):
    import keras

    from vehicle.perception.preprocess import sign_crop
    from vehicle.perception.sign_classifier import SignClassifier, SignClassifierConfig

    out, metrics = run
    assert metrics["exports"]["float32"]["parity"]["ok"]
    assert metrics["exports"]["float32"]["parity"]["max_abs"] <= 1e-4
    assert "top1_agreement" in metrics["exports"]["int8"]["parity"]
    # Independently of the run's own check: crops of real validation boxes, cut by the
    # car's function, through the car's runner, against the saved Keras model.
    model = keras.models.load_model(out / "signs.keras")
    float32 = SignClassifier(
        SignClassifierConfig(model=out / "signs_float32.tflite", labels=out / "signs_labels.txt")
    )
    crops = []
    for image in load_split(signs_dataset, "val") + load_split(signs_dataset, "train")[:4]:
        frame = cv2.imread(str(image.path))
        crops += [sign_crop(frame, tuple(box), float32.preprocess) for box in image.boxes]
    crops = np.stack(crops)
    reference = model.predict({"image": crops.astype(np.float32)}, verbose=0)
    probs = np.stack([float32.probabilities(c) for c in crops])
    assert probs.shape == reference.shape == (len(crops), 17)
    np.testing.assert_allclose(probs, reference, atol=1e-4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    int8 = SignClassifier(
        SignClassifierConfig(model=out / "signs_int8.tflite", labels=out / "signs_labels.txt")
    )
    detail = int8._image
    assert detail["dtype"] == np.uint8 and tuple(detail["quantization"]) == (1.0, 0)
    label, prob = int8.classify(frame, (0.2, 0.2, 0.5, 0.5))
    assert label in int8.labels and 0 <= prob <= 1


def test_the_two_stage_figures_are_measured(run):
    _, metrics = run
    for name in ("validation", "unseen"):
        p = metrics["pipeline"][name]
        near = p["near_signs"]
        assert near["matched"] <= near["signs"]
        assert {"detector_accuracy", "int8_accuracy", "float32_accuracy"} <= set(near)
        for key in ("detector", "two_stage_int8", "two_stage_float32_cut"):
            assert "map" in p[key] and "coco" in p[key]


def test_eval_detect_relabels_with_the_classifier(run, signs_dataset, capsys):
    out, _ = run
    base = ["eval", "detect", "--model", str(MODELS_DIR / "detect_int8.tflite")]
    base += ["--data", str(signs_dataset), "--split", "all", "--json"]
    assert main(base) == 0
    alone = json.loads(capsys.readouterr().out)
    assert main([*base, "--classifier", str(out / "signs_int8.tflite")]) == 0
    named = json.loads(capsys.readouterr().out)
    assert named["classifier"].endswith("signs_int8.tflite") and alone["classifier"] is None
    assert named["images"] == alone["images"] == 40
    # Car boxes pass the classifier untouched: the car's AP cannot change.
    assert named["per_class"]["car"] == alone["per_class"]["car"]
    assert named["per_class"] != alone["per_class"]


def test_bad_input_is_one_line_exit_2(run, signs_dataset, tmp_path, capsys):
    out, _ = run
    cases = [
        (["--data", str(tmp_path / "none"), "--out", str(tmp_path / "o")], "not a detection"),
        (["--data", str(signs_dataset), "--out", str(out)], "not empty"),
        (["--data", str(signs_dataset), "--out", str(tmp_path / "o"), "--steps", "0"], "steps"),
    ]
    wrong = tmp_path / "wrong"
    (wrong / "ImageSets" / "Main").mkdir(parents=True)
    (wrong / "labels.txt").write_text("red-circle\ncar\n")
    cases.append((["--data", str(wrong), "--out", str(tmp_path / "o2")], "sign catalogue"))
    for args, message in cases:
        assert main(["train", "signs", *args]) == 2, args
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists() and not (tmp_path / "o2").exists()
    eval_base = ["eval", "detect", "--model", str(MODELS_DIR / "detect_int8.tflite")]
    eval_base += ["--data", str(signs_dataset)]
    for extra, message in (
        (["--classifier", str(tmp_path / "x.tflite")], "not a .tflite file"),
        (["--classifier-labels", str(out / "signs_labels.txt")], "needs --classifier"),
    ):
        assert main([*eval_base, *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_force_replaces_a_finished_run(tmp_path):
    from training.signs.train import OUTPUTS, prepare_out

    out = tmp_path / "again"
    out.mkdir()
    for name in OUTPUTS:
        (out / name).write_text("old")
    (out / "notes.txt").write_text("mine")
    prepare_out(out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_the_verb_has_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["train", "signs", "--help"])
    assert done.value.code == 0
    assert "--unseen" in capsys.readouterr().out
