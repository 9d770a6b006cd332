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


@pytest.fixture
def stages_resume_and_refuse():
    """The check of a benchmark with stored JSON stages under ``out``: a rerun with the stored settings
    recomputes nothing, a run with other settings is refused, and neither touches a stored stage."""

    def stages(out):
        return {p.name: p.read_text() for p in out.glob("*.json")}

    def check(main, out, same_args, other_args):
        before = stages(out)
        main(same_args)
        assert stages(out) == before
        with pytest.raises(SystemExit):
            main(other_args)
        assert stages(out) == before

    return check
