"""The board's call of the evaluator: episodes in (slot, index) order, checked against the evaluator's own."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import registry

from benchmarks.leaderboard import envs, scoring
from benchmarks.leaderboard.envs import EnvConfig

ENV_ID = "AdvRec-v1" if "AdvRec-v1" in registry else "AdvRec-v0"
TINY_ENV = EnvConfig(env_id=ENV_ID, num_items=12, num_topics=3, random_embedding_dim=8, max_episode_steps=20)


class Constant:
    """Always recommends the same item: a policy with no randomness of its own."""

    def __init__(self, item: int):
        self.item = item

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        obs = np.asarray(observation)
        return np.full(obs.shape[0], self.item, dtype=np.int64), state


def _single_env_returns(seed: int, item: int, episodes: int) -> list[float]:
    """Slot ``i`` of a vector env reset with ``s`` follows the single env reset with ``s + i`` (the env's contract)."""
    import gymnasium as gym

    env = gym.make(ENV_ID, catalogue=envs.catalogue(TINY_ENV), max_episode_steps=TINY_ENV.max_episode_steps)
    out = []
    env.reset(seed=seed)
    for _ in range(episodes):
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(item)
            total += reward
            done = terminated or truncated
        out.append(total)
        env.reset()
    return out


def test_episodes_come_slot_by_slot_in_play_order():
    venv = envs.make_vec(TINY_ENV, 3)
    # 7 episodes over 3 slots: the evaluator's share is (7 + i) // 3 = 2, 2, 3
    assert scoring.episodes_per_slot(7, 3) == [2, 2, 3]
    scored = scoring.score(venv, Constant(5), episodes=7, seed=500, measure_blocks=True)
    expected = [r for i, n in enumerate([2, 2, 3]) for r in _single_env_returns(500 + i, 5, n)]
    assert scored.returns.tolist() == expected
    assert scoring.episode_keys((0,), 7, 3) == [
        (0, 0, 0),
        (0, 0, 1),
        (0, 1, 0),
        (0, 1, 1),
        (0, 2, 0),
        (0, 2, 1),
        (0, 2, 2),
    ]
    # showing one unit-norm item for ever, the "shown" block's norm t steps into an episode is 1 - 0.5**t
    # (rate 0.5): over the 19 non-empty steps of a 20-step episode its mean is 1 - (1 - 0.5**19) / 19 = 0.947;
    # a slot's extra, shorter episodes after its share (the evaluator steps every slot to the end) lower it
    assert scored.block_norms is not None and 0.9 < max(scored.block_norms) <= 0.9474


def test_a_mismatch_with_the_evaluator_fails_loudly(monkeypatch):
    venv = envs.make_vec(TINY_ENV, 2)
    monkeypatch.setattr(scoring, "episodes_per_slot", lambda episodes, slots: [1] * slots)  # a wrong share
    with pytest.raises(RuntimeError, match="per-episode keys would pair the wrong users"):
        scoring.score(venv, Constant(0), episodes=4, seed=0)
