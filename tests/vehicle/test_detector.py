"""The car's detector: its configuration, and the shipped model on simulator scenes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vehicle.perception import Detector, DetectorConfig
from vehicle.perception.detections import Detection

pytest.importorskip("ai_edge_litert")

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "detect_int8.tflite"


def test_config_defaults_run_the_shipped_int8_model():
    config = DetectorConfig()
    assert config.model.name == "detect_int8.tflite"
    assert config.labels.name == "detect_labels.txt"
    assert config.num_threads == 1 and config.use_edgetpu and 0 < config.min_score < 1


@pytest.mark.parametrize("kwargs", [{"min_score": 1.5}, {"min_score": -0.1}, {"num_threads": 0}])
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        DetectorConfig(**kwargs)


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no detector model"):
        Detector(DetectorConfig(model=tmp_path / "none.tflite"))


def _scenes(count: int) -> list[tuple[np.ndarray, list[str]]]:
    from city import default_city
    from sim.datasets.detect import DetectDatasetConfig, _SceneMaker

    maker = _SceneMaker(default_city(), DetectDatasetConfig(images=count, seed=21))
    out = []
    for sample in maker(0)[:count]:
        frame = cv2.imdecode(np.frombuffer(sample.jpeg, np.uint8), cv2.IMREAD_COLOR)
        out.append((frame, [o.name for o in sample.objects if not o.difficult]))
    return out


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped detector in models/")
def test_shipped_model_keeps_the_runtime_contract(caplog):
    """What the car runtime relies on: `Detector(DetectorConfig()).detect(bgr)` runs the
    shipped int8 file and returns scored, normalised detections (its accuracy is in
    models/detect_model_card.md, not asserted here)."""
    with caplog.at_level("WARNING", logger="vehicle.perception.detector"):
        detector = Detector(DetectorConfig())
    assert len(caplog.records) <= 1  # at most the one Edge TPU fallback line
    assert detector.labels[-1] == "car" and len(detector.labels) == 17
    for frame, _ in _scenes(8):
        found = detector.detect(frame)
        assert all(isinstance(d, Detection) and d.score >= 0.5 for d in found)
        assert all(0.0 <= v <= 1.0 for d in found for v in d.box)
        assert all(d.label in detector.labels for d in found)
    low = Detector(DetectorConfig(min_score=0.0))
    frame = _scenes(1)[0][0]
    assert len(low.detect(frame)) <= 20  # sliced to the post-process op's count
