"""Relay a car's MJPEG stream through the station, so browsers never reach car ports."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import requests
from flask import Response

from station.errors import StationError

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


def relay_stream(url: str, token: str, *, timeout_s: float) -> Response:
    """Open `url?token=…` and pass its bytes on as they arrive (no re-encoding).

    The relay ends when the car closes the stream (the trip ended), when nothing came
    for `timeout_s`, or when the browser goes away (the generator is closed).
    """
    try:
        upstream = requests.get(url, params={"token": token}, stream=True, timeout=(3.0, timeout_s))
    except requests.RequestException as exc:
        raise StationError(
            502,
            "car_stream_unreachable",
            f"the car's camera does not answer ({type(exc).__name__})",
        ) from exc
    if upstream.status_code != 200:
        upstream.close()
        raise StationError(
            502, "car_stream_refused", f"the car's camera answered {upstream.status_code}"
        )

    def relay() -> Iterator[bytes]:
        try:
            while True:
                chunk = upstream.raw.read1(CHUNK)
                if not chunk:
                    return
                yield chunk
        except Exception as exc:  # noqa: BLE001 - the car went away or timed out: end the relay
            log.info("car stream ended: %s", type(exc).__name__)
        finally:
            upstream.close()

    content_type = upstream.headers.get("Content-Type", "multipart/x-mixed-replace; boundary=frame")
    return Response(
        relay(),
        status=200,
        content_type=content_type,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        direct_passthrough=True,
    )
