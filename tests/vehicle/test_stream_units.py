"""Stream pieces without sockets: config validation, the token check, the max_fps cap."""

from __future__ import annotations

import numpy as np
import pytest

from vehicle.stream import StreamAccess, StreamConfig
from vehicle.stream.hub import FrameHub


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host", ""),
        ("port", 70000),
        ("port", True),
        ("jpeg_quality", 0),
        ("jpeg_quality", 101),
        ("max_fps", 0),
        ("max_fps", float("inf")),
        ("send_timeout_s", -1.0),
        ("max_viewers", 0),
        ("send_buffer_bytes", -1),
        ("advertise_host", ""),
    ],
)
def test_invalid_config_names_the_field(field: str, value: object):
    with pytest.raises(ValueError, match=f"^{field}:"):
        StreamConfig(**{field: value})


def test_default_config_is_valid():
    config = StreamConfig()
    assert (config.port, config.jpeg_quality, config.max_fps) == (8080, 70, 15.0)


def test_access_accepts_only_current_booking_and_operator_tokens():
    access = StreamAccess(operator_token="op-secret")
    assert not access(None) and not access("") and not access("anything")
    assert access("op-secret")
    access.set_booking_token("booking-1")
    assert access("booking-1") and access("op-secret") and not access("booking-2")
    access.set_booking_token(None)
    assert not access("booking-1")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _kept_over(hub: FrameHub, clock: FakeClock, *, rate_hz: float, seconds: float) -> int:
    frame = np.zeros((8, 8, 3), np.uint8)
    kept = 0
    for _ in range(round(rate_hz * seconds)):
        kept += hub.publish(frame)
        clock.now += 1.0 / rate_hz
    return kept


@pytest.mark.parametrize("rate_hz", [20.0, 30.0, 100.0, 1000.0])
def test_max_fps_caps_the_kept_rate_without_undershooting(rate_hz: float):
    clock = FakeClock()
    hub = FrameHub(jpeg_quality=70, max_fps=15.0, max_viewers=4, clock=clock)
    kept = _kept_over(hub, clock, rate_hz=rate_hz, seconds=4.0)
    assert 59 <= kept <= 61  # 15 fps for 4 s, even when 15 does not divide the input rate
    assert hub.skipped_frames == round(rate_hz * 4.0) - kept


def test_max_fps_does_not_bank_a_burst_after_a_pause():
    clock = FakeClock()
    hub = FrameHub(jpeg_quality=70, max_fps=10.0, max_viewers=4, clock=clock)
    _kept_over(hub, clock, rate_hz=10.0, seconds=1.0)
    clock.now += 5.0  # the car loop paused
    assert _kept_over(hub, clock, rate_hz=1000.0, seconds=0.5) in (5, 6)


def test_slower_publishing_keeps_every_frame():
    clock = FakeClock()
    hub = FrameHub(jpeg_quality=70, max_fps=15.0, max_viewers=4, clock=clock)
    assert _kept_over(hub, clock, rate_hz=10.0, seconds=2.0) == 20


def test_publish_rejects_non_images():
    hub = FrameHub(jpeg_quality=70, max_fps=15.0, max_viewers=4)
    with pytest.raises(TypeError, match="frame_bgr"):
        hub.publish(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="frame_bgr"):
        hub.publish(np.zeros((8, 8, 4), np.uint8))
