"""Run a Gymnasium ``VectorEnv`` (such as :class:`~advrec_gym.AdvRecVectorEnv`) as a stable-baselines3 ``VecEnv``.

Needs stable-baselines3, the ``[train]`` extra (``pip install 'advrec-gym[train]'``).

SB3 has no adapter for Gymnasium's vector API. Both use *same-step* autoreset once the vector env
does: SB3 expects the reset observation back from ``step_wait`` and the last observation of the
finished episode in ``infos[i]["terminal_observation"]``, which is Gymnasium's ``info["final_obs"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from advrec_gym._optional import raise_missing_extra

try:
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn
except ModuleNotFoundError as exc:  # the [train] extra
    raise_missing_extra(exc, "advrec_gym.sb3_adapter")

_SKIP = {"final_obs", "final_info"}


class SB3VecEnvAdapter(VecEnv):
    """Present a same-step-autoreset Gymnasium vector env to stable-baselines3.

    Args:
        env: a ``gymnasium.vector.VectorEnv`` (or wrapper) whose ``metadata["autoreset_mode"]`` is
            ``AutoresetMode.SAME_STEP``.

    Example:
        >>> venv = gym.make_vec("AdvRec-v1", num_envs=8, vectorization_mode="vector_entry_point")  # doctest: +SKIP
        >>> PPO("MlpPolicy", SB3VecEnvAdapter(venv)).learn(10_000)                                  # doctest: +SKIP

    Per-slot info arrays (those with a ``_key`` mask) are forwarded into each slot's info dict.
    """

    def __init__(self, env: gym.vector.VectorEnv):
        if not isinstance(env, gym.vector.VectorEnv):
            raise TypeError(f"env must be a gymnasium.vector.VectorEnv, got {type(env).__name__}.")
        mode = env.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                f"SB3VecEnvAdapter needs a vector env with same-step autoreset "
                f"(metadata['autoreset_mode'] == AutoresetMode.SAME_STEP), got {mode!r}."
            )
        self.env = env
        self.render_mode = None
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self):
        seeds = self._seeds
        seed: Any = None if all(s is None for s in seeds) else list(seeds)
        options = self._options[0] or None
        obs, info = self.env.reset(seed=seed, options=options)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terminated, truncated, info = self.env.step(self._actions)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for key, value in info.items():
            if key.startswith("_") or key in _SKIP or not isinstance(value, np.ndarray):
                continue
            mask = info.get(f"_{key}")
            values = value.tolist() if value.ndim == 1 else list(value)
            for i in range(self.num_envs) if mask is None else np.flatnonzero(mask):
                infos[i][key] = values[i]
        final = info.get("final_obs")
        for i in np.flatnonzero(dones):
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            infos[i]["terminal_observation"] = final[i]
        return obs, np.asarray(rewards, dtype=np.float32), dones, infos

    def close(self) -> None:
        self.env.close()

    # SB3 reaches the envs through these; a batched env has one object for all slots.
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.env.unwrapped, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.env.unwrapped, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        result = getattr(self.env.unwrapped, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._get_indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        wrapped, env = False, self.env
        while isinstance(env, gym.vector.VectorWrapper):
            wrapped |= isinstance(env, wrapper_class)
            env = env.env
        return [wrapped] * len(self._get_indices(indices))

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs
