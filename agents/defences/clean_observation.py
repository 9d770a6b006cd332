"""``[o | o]``: a second, clean copy of the observation, for a critic that sees the true state.

Put it *under* the attack wrapper: the attack perturbs only ``env.unwrapped.embedding_slice``, which
lies in the first copy, so the recommender's actor (first half) sees the attacked observation and its
critic (second half) the clean one. See :mod:`agents.policies.clean_critic`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space


def doubled_space(space: spaces.Box) -> spaces.Box:
    """The Box of ``[o | o]`` for a 1-D Box ``space``."""
    if not isinstance(space, spaces.Box) or len(space.shape) != 1:
        raise TypeError(f"CleanObservationCopy needs a 1-D Box observation space, got {space}.")
    low, high = np.concatenate([space.low, space.low]), np.concatenate([space.high, space.high])
    return spaces.Box(low, high, dtype=space.dtype)


class CleanObservationCopy(gym.vector.VectorWrapper):
    """Append a copy of each observation to itself (and to ``info["final_obs"]``), for a vector env.

    Args:
        env: a Gymnasium vector env with a 1-D Box observation space (``AdvRecVectorEnv``).
    """

    def __init__(self, env: gym.vector.VectorEnv):
        super().__init__(env)
        self.single_observation_space = doubled_space(env.single_observation_space)
        self.observation_space = batch_space(self.single_observation_space, env.num_envs)

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        return _double(obs), info

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        if "final_obs" in info:
            info = dict(info)
            info["final_obs"] = _double(info["final_obs"])
        return _double(obs), reward, terminated, truncated, info


def _double(obs: np.ndarray) -> np.ndarray:
    obs = np.asarray(obs)
    return np.concatenate([obs, obs], axis=-1)
