"""One simulated car as its own process, so a drill can SIGKILL it mid-trip.

    DRILL_BASE=… DRILL_CAR_ID=… DRILL_CAR_TOKEN=… DRILL_NODE=… DRILL_STEP_S=0.5 \\
        python -m benchmarks.reliability.carproc

The token comes in the environment, not on the command line (where `ps` would show it).
SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from benchmarks.reliability.clients import Api, Device, Knobs, Ledger, Recorder, SimCar


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="carproc %(levelname)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    me = Device(os.environ["DRILL_CAR_ID"], os.environ["DRILL_CAR_TOKEN"])
    knobs = Knobs(step_s=float(os.environ.get("DRILL_STEP_S", "0.5")), retry_s=5.0)
    api = Api(os.environ["DRILL_BASE"], Recorder(), retry_s=knobs.retry_s)
    SimCar(api, me, os.environ["DRILL_NODE"], Ledger(), stop, knobs).run()


if __name__ == "__main__":
    main()
