"""Ordered parallel map: same order and results with any number of workers; stops early."""

from __future__ import annotations

import cv2

from sim.datasets.parallel import ordered_map, prepare_process


def square(i: int) -> int:
    return i * i


def test_same_results_in_order_with_any_workers():
    expected = [i * i for i in range(50)]
    for workers in (1, 2, 3):
        assert list(ordered_map(square, 50, workers=workers)) == expected


def test_stopping_early_ends_the_workers():
    results = ordered_map(square, 10_000, workers=2)
    taken = [next(results) for _ in range(5)]
    results.close()
    assert taken == [0, 1, 4, 9, 16]


def test_prepare_process_keeps_opencv_single_threaded() -> None:
    threads = cv2.getNumThreads()
    try:
        prepare_process()
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(threads)
