"""The car's MJPEG stream: the annotated camera view, encoded once, watched by token.

`StreamServer(config, authorize=StreamAccess())` serves `GET /stream`, `/snapshot.jpg`
and `/health`; see docs/stream.md.
"""

from vehicle.stream.access import StreamAccess
from vehicle.stream.config import StreamConfig
from vehicle.stream.server import StreamServer

__all__ = ["StreamAccess", "StreamConfig", "StreamServer"]
