"""VOC XML writing: 1-based coordinates, round trip, refuses boxes outside the image."""

from __future__ import annotations

import pytest

from sim.datasets.voc import VocObject, annotation_xml, read_annotation


def test_round_trip_and_one_based_coordinates():
    objs = [VocObject("car", (0, 5, 10, 20), truncated=True), VocObject("red-circle", (3, 3, 9, 9))]
    xml = annotation_xml(filename="a.jpg", width=32, height=24, objects=objs)
    assert "<xmin>1</xmin>" in xml and "<truncated>1</truncated>" in xml
    assert read_annotation(xml) == ("a.jpg", 32, 24, objs)


@pytest.mark.parametrize("box", [(0, 0, 32, 5), (5, 5, 5, 9), (-1, 0, 4, 4)])
def test_box_outside_the_image_is_refused(box):
    with pytest.raises(ValueError):
        annotation_xml(filename="a.jpg", width=32, height=24, objects=[VocObject("car", box)])
