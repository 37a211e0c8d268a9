"""Appearance randomisation and per-frame effects."""

from __future__ import annotations

import numpy as np
import pytest

from sim.appearance import Appearance, FrameEffects


def test_strength_zero_is_the_default_look() -> None:
    assert Appearance.randomised(np.random.default_rng(5), 0.0) == Appearance()


def test_randomised_looks_are_valid_varied_and_reproducible() -> None:
    looks = [Appearance.randomised(np.random.default_rng(k), 1.0) for k in range(30)]
    assert looks[3] == Appearance.randomised(np.random.default_rng(3), 1.0)
    assert len({look.road_bgr for look in looks}) > 10
    assert len({look.background for look in looks}) > 1


def test_invalid_field_is_named() -> None:
    with pytest.raises(ValueError, match="background"):
        Appearance(background="lava")
    with pytest.raises(ValueError, match="road_bgr"):
        Appearance(road_bgr=(0, 0, 300))
    with pytest.raises(ValueError, match="strength"):
        Appearance.randomised(np.random.default_rng(0), 2.0)


def test_frame_effects_come_only_from_the_rng() -> None:
    look = Appearance(noise_sigma=5.0, blur_probability=0.5, flicker=0.05, seed=3)
    effects = FrameEffects(look, width=64, height=48)
    canvas = np.full((48, 64, 4), 120, np.uint8)
    images = []
    for _ in range(2):
        rng = np.random.default_rng(9)
        image = effects.to_bgr(canvas, rng)
        effects.apply(image, rng)
        images.append(image)
    assert np.array_equal(images[0], images[1])
    assert images[0].std() > 0.5  # noise was added
    clean = effects.to_bgr(canvas, None)
    effects.apply(clean, None)
    assert np.all(clean == 120)
