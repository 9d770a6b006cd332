"""Fixtures for the attack tests: a tiny env and an untrained (seeded) SB3 victim on it.

The tiny catalogue (20 items, 8-d, from ``tests/conftest.py``) gives observations of size
3 * 8 + 3 = 27 with the embedding slice ``[0, 24)``. An untrained ``MlpPolicy`` is a fine victim for
everything but the strength ordering of the attacks, which ``test_attack_strength.py`` checks on a
briefly trained one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from advrec_gym.v0 import AdvRecVectorEnv


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread(one_torch_thread_per_module):
    """Small networks run faster on one torch thread, and several threads on a busy machine stall."""


@pytest.fixture(scope="module")
def victim(tiny_catalogue):
    """An untrained PPO MlpPolicy recommender on the tiny env (CPU, seeded), with confident logits."""
    venv = AdvRecVectorEnv(4, catalogue=tiny_catalogue, max_episode_steps=20)
    model = PPO("MlpPolicy", SB3VecEnvAdapter(venv), n_steps=16, batch_size=16, seed=0, device="cpu")
    with torch.no_grad():  # SB3 starts the action head near uniform (gain 0.01): sharpen it, as training would
        model.policy.action_net.weight.mul_(300.0)
    return model


@pytest.fixture(scope="module")
def observations(tiny_catalogue) -> np.ndarray:
    """64 real observations of the tiny env under random recommendations (float32, (64, 27))."""
    venv = AdvRecVectorEnv(8, catalogue=tiny_catalogue, max_episode_steps=20)
    rng = np.random.default_rng(0)
    obs, _ = venv.reset(seed=0)
    rows = []
    for _ in range(8):
        obs, *_ = venv.step(rng.integers(0, 20, 8))
        rows.append(obs.copy())
    return np.concatenate(rows)
