"""Fixtures of the benchmark tests: one small trained PPO run, shared by the scripts that read runs."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_ppo_run(tmp_path_factory):
    """A run directory of PPO (item-embedding policy) on the default env after one rollout (4,096 steps)."""
    from agents.training import TrainConfig, Trainer

    path = tmp_path_factory.mktemp("tiny-ppo") / "ppo"
    config = TrainConfig(
        recommender_steps=4096,
        rounds=1,
        eval_attacks=[],
        phase_eval_episodes=0,
        output_dir=str(path),
        progress_bar=False,
        tensorboard=False,
    )
    Trainer(config).train(evaluate=False)
    return path
