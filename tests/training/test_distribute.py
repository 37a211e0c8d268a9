"""Which tf.distribute strategy `auto` picks, and who writes the outputs."""

from __future__ import annotations

import json

import pytest

from training.distribute import auto_strategy_name, is_chief


@pytest.mark.parametrize(("gpus", "expected"), [(0, "default"), (1, "default"), (2, "mirrored")])
def test_auto_mirrors_only_over_several_devices(monkeypatch, gpus, expected):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert auto_strategy_name(gpus) == expected


def test_auto_is_multi_worker_in_a_cluster(monkeypatch):
    cluster = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    assert auto_strategy_name(0) == "multi-worker"
    assert not is_chief()


@pytest.mark.parametrize(
    ("config", "chief"),
    [
        (None, True),
        ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}, True),
        (
            {
                "cluster": {"chief": ["c:1"], "worker": ["a:1"]},
                "task": {"type": "worker", "index": 0},
            },
            False,
        ),
        ({"cluster": {"chief": ["c:1"]}, "task": {"type": "chief", "index": 0}}, True),
    ],
)
def test_only_the_chief_writes(monkeypatch, config, chief):
    if config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert is_chief() is chief
