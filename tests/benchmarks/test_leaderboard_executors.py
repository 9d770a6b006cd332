"""Executors: a tiny board through Ray core tasks gives the process pool's cell files; Ray joins $RAY_ADDRESS."""

from __future__ import annotations

import json
import sys
import types

import pytest
from gymnasium import registry

from benchmarks.leaderboard import executors, runner
from benchmarks.leaderboard.envs import EnvConfig
from benchmarks.leaderboard.protocol import BoardConfig, Row

ENV_ID = "AdvRec-v1" if "AdvRec-v1" in registry else "AdvRec-v0"
CONFIG = BoardConfig(
    name="executors",
    rows=(Row("random"), Row("linucb")),
    attacks=("random",),
    main_eps=0.05,
    eps_scales=(1.0,),
    train_seeds=(0, 1),
    eval_seeds=(0,),
    episodes=4,
    bandit_steps=64,
    num_envs=4,
    modes=("sampled",),
    env=EnvConfig(env_id=ENV_ID, num_items=12, num_topics=3, random_embedding_dim=8, max_episode_steps=20),
)


def _quiet(msg: str) -> None:
    pass


def _cell_files(out) -> dict:
    """Every cell file's spec, numbers and code commit (wall times, host and date differ between runs by design)."""
    files = {}
    for path in sorted((out / "cells").rglob("*.json")):
        doc = json.loads(path.read_text())
        payload = {k: v for k, v in doc["payload"].items() if k != "wall_s"}
        files[path.relative_to(out).as_posix()] = (doc["spec"], payload, doc["provenance"]["code_commit"])
    return files


@pytest.mark.slow
def test_a_tiny_board_through_ray_gives_the_process_pools_cell_files(tmp_path):
    ray = pytest.importorskip("ray", reason="the Ray executor needs the [ray] extra (scripts/run.sh installs it)")
    _, pool_summary = runner.run_board(CONFIG, tmp_path / "pool", workers=2, progress=False, log=_quiet)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        data, summary = runner.run_board(
            CONFIG, tmp_path / "ray", workers=2, executor="ray", progress=False, log=_quiet
        )
        assert ray.is_initialized()  # a Ray the caller started is left running
    finally:
        ray.shutdown()
    # 4 train cells + 2 rows x 2 seeds x (natural + random noise) eval cells, none failed
    assert summary.computed == pool_summary.computed == 12 and not summary.failed and not data.missing
    ray_files, pool_files = _cell_files(tmp_path / "ray"), _cell_files(tmp_path / "pool")
    assert len(ray_files) == 12 and ray_files == pool_files


class _FakeRay(types.ModuleType):
    """Just enough of ``ray`` to see how the executor connects (no cluster needed)."""

    def __init__(self):
        super().__init__("ray")
        self.calls = []
        self.exceptions = types.SimpleNamespace(RayError=RuntimeError)

    def is_initialized(self):
        return False

    def init(self, **kwargs):
        self.calls.append(("init", kwargs))

    def remote(self, **kwargs):
        return lambda fn: fn

    def shutdown(self):
        self.calls.append(("shutdown", {}))


def test_ray_joins_the_cluster_at_ray_address_and_gives_workers_one_thread(monkeypatch):
    fake = _FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    pool = executors.make_executor("ray", workers=3)
    assert pool.workers == 3 and pool.started
    (kind, kwargs), *_ = fake.calls
    assert kind == "init" and kwargs["address"] == "10.0.0.1:6379"
    assert kwargs["runtime_env"]["env_vars"] == {
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    pool.close()
    assert fake.calls[-1][0] == "shutdown"  # it started this Ray, so it stops it
    monkeypatch.delenv("RAY_ADDRESS")
    executors.make_executor("ray", workers=None)
    assert fake.calls[-1] == ("init", {**kwargs, "address": None})  # no address: a local Ray


def test_unknown_executors_and_a_missing_ray_are_named(monkeypatch):
    with pytest.raises(ValueError, match="Did you mean 'ray'"):
        executors.make_executor("rey")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'advrec-gym\[ray\]'"):
        executors.make_executor("ray")


def test_the_task_queue_pops_by_priority_then_first_in_and_discards_what_it_is_told():
    queue = executors.TaskQueue([("train", 1), ("train", 2)], priority=1)
    queue.push(("eval", 1), 0)
    queue.push(("eval", 2), 0)
    assert [queue.pop() for _ in range(2)] == [("eval", 1), ("eval", 2)]
    queue.push(("eval", 3), 0)
    assert queue.discard(lambda t: t[0] != "train") == [("train", 1), ("train", 2)]
    assert len(queue) == 1 and queue.pop() == ("eval", 3) and not queue


@pytest.mark.parametrize("workers", [1, 2])
def test_tasks_queued_while_results_come_in_run_before_the_waiting_ones(workers):
    trains = [(f"train-{i}",) for i in range(3)]
    queue = executors.TaskQueue(trains, priority=1)
    seen = []
    # repr is picklable, so spawned workers can run it; each result names its task
    for result in executors.ProcessExecutor(workers).map_unordered(repr, queue, lambda task, exc: None):
        seen.append(result)
        if result.startswith("('train"):
            queue.push(("eval of " + result,), 0)
    assert sorted(seen) == sorted([repr(t) for t in trains] + [repr(("eval of " + repr(t),)) for t in trains])
    if workers == 1:  # one at a time: each training's eval runs before the next training starts
        assert [s.startswith("('train") for s in seen] == [True, False] * 3
    else:
        # the third training starts only once a slot is free with no eval waiting: after three
        # results (two trainings and the first eval); first in, first out would start it after one
        assert seen.index(repr(trains[2])) >= 3
