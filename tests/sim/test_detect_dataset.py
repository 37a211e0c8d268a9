"""The detection dataset: Pascal VOC that parses, boxes inside images, classes = signs + car."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from city import sign_names
from pixelopolis.cli import main
from sim.datasets.detect import DetectDatasetConfig, classes, generate_detect_dataset
from sim.datasets.voc import read_annotation


@pytest.fixture(scope="module")
def voc(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("voc") / "ds"
    generate_detect_dataset(out, DetectDatasetConfig(images=80, seed=1, workers=2), progress=False)
    return out


def test_layout_and_class_list(voc):
    assert (voc / "labels.txt").read_text().split() == [*sign_names(), "car"] == classes()
    train = (voc / "ImageSets/Main/train.txt").read_text().split()
    val = (voc / "ImageSets/Main/val.txt").read_text().split()
    assert len(train) + len(val) == 80 and not set(train) & set(val) and val
    for name in classes():
        assert (voc / f"ImageSets/Main/{name}_train.txt").exists()
    assert "item {" in (voc / "label_map.pbtxt").read_text()


def test_every_annotation_parses_and_every_box_is_inside_its_image(voc):
    names = set(classes())
    total = 0
    for xml in sorted((voc / "Annotations").glob("*.xml")):
        filename, width, height, objects = read_annotation(xml.read_text())
        image = cv2.imread(str(voc / "JPEGImages" / filename))
        assert image is not None and image.shape[:2] == (height, width)
        for obj in objects:
            assert obj.name in names
            xmin, ymin, xmax, ymax = obj.box
            assert 0 <= xmin < xmax < width and 0 <= ymin < ymax < height
        total += len(objects)
    assert total >= 80  # scenes are not empty on average


def test_signs_and_cars_both_appear(voc):
    stats = json.loads((voc / "dataset.json").read_text())
    assert stats["objects"]["car"] > 0
    assert sum(v for k, v in stats["objects"].items() if k != "car") > 0


def test_deterministic_whatever_the_workers(tmp_path, voc):
    out = tmp_path / "again"
    generate_detect_dataset(out, DetectDatasetConfig(images=80, seed=1, workers=1), progress=False)
    for xml in sorted((voc / "Annotations").glob("*.xml"))[:20]:
        assert (out / "Annotations" / xml.name).read_text() == xml.read_text()


def test_bad_input_exit_2(tmp_path, capsys):
    assert main(["sim", "detect", "--out", str(tmp_path / "d"), "--images", "-1"]) == 2
    assert "images" in capsys.readouterr().err
