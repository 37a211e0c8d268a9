"""Two local workers (MultiWorkerMirroredStrategy over loopback) train one lane model.

Each worker is its own `pixelopolis train lane` process with a `TF_CONFIG`; after the
run the chief's best weights and the other worker's are the same arrays — one model
trained together, not two side by side — and only the chief wrote the exports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
h5py = pytest.importorskip("h5py")

pytestmark = pytest.mark.slow


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _arrays(path: Path) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, item: (
                found.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
            )
        )
    return found


@pytest.mark.timeout(600)
def test_two_workers_train_one_model(lane_dataset, tmp_path):
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    outs = [tmp_path / "worker0", tmp_path / "worker1"]
    procs = []
    for index, out in enumerate(outs):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "CUDA_VISIBLE_DEVICES": ""}
        cmd = [sys.executable, "-m", "pixelopolis", "train", "lane", "--data", str(lane_dataset)]
        cmd += ["--out", str(out), "--epochs", "1", "--steps-per-epoch", "3"]
        cmd += ["--batch-size", "16", "--strategy", "multi-worker"]
        log = open(tmp_path / f"worker{index}.log", "w")  # noqa: SIM115 - closed below
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log))
    try:
        for proc, _ in procs:
            proc.wait(timeout=540)
    finally:
        for proc, log in procs:
            if proc.poll() is None:
                proc.kill()
            log.close()
    for index, (proc, _) in enumerate(procs):
        text = (tmp_path / f"worker{index}.log").read_text(errors="replace")
        assert proc.returncode == 0, (
            f"worker {index} exit {proc.returncode}:\n{text[text.find('Traceback') :][:4000]}"
        )

    chief, other = outs
    assert (chief / "lane_int8.tflite").is_file() and (chief / "model_card.md").is_file()
    assert not (other / "lane_int8.tflite").exists(), "only the chief exports"
    a = _arrays(chief / "checkpoints" / "best.weights.h5")
    b = _arrays(other / "checkpoints" / "workers" / "best.weights.h5")
    assert a.keys() == b.keys() and len(a) > 4
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    # each worker took its own shard of every batch: unsynchronised, they would differ
    history = (chief / "history.csv").read_text().splitlines()
    assert len(history) == 2 and "loss" in history[0]
