"""Attacks are wrappers: the recommender sees ``o + d``, the simulated user never notices."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from advrec_gym._validation import check_float
from advrec_gym.attacks.base import Attacker

# Stream tags that keep the wrapper's coin flips and the attacker's draws apart from the env's own
# generator (which the user model uses): the attack never changes what the user does.
_RATIO_STREAM, _ATTACK_STREAM = 0xA77AC0, 0xA77AC1


def _check_args(env: Any, attacker: Any, ratio: Any) -> float:
    if not isinstance(attacker, Attacker):
        raise TypeError(
            "attacker must be an advrec_gym.attacks attacker (RandomNoise, FGSM, PGD, CriticPGD, "
            f"LearnedAdversary, or make_attacker(...)), got {type(attacker).__name__}."
        )
    ratio = check_float("ratio", ratio, low=0.0, high=1.0)
    attacker.bind(
        env.observation_space if not isinstance(env, gym.vector.VectorEnv) else env.single_observation_space,
        getattr(env.unwrapped, "embedding_slice", None),
    )
    return ratio


def _reseed(wrapper, seed) -> None:
    if seed is not None and not isinstance(seed, (int, np.integer)):
        # a vector env's list of per-slot seeds: the first given one seeds the attack
        seed = next((s for s in seed if s is not None), None)
    if seed is not None:
        wrapper._rng = np.random.default_rng([int(seed), _RATIO_STREAM])
        wrapper.attacker.reseed([int(seed), _ATTACK_STREAM])


class AdversarialObservation(gym.Wrapper):
    """Replace what the recommender observes by the attacker's ``o + d`` on a share ``ratio`` of steps.

    Works on the single env and, returning a :class:`VectorAdversarialObservation`, on a Gymnasium
    vector env such as ``AdvRecVectorEnv`` (also under ``SB3VecEnvAdapter``, for training). The
    observation returned by ``reset`` is attacked too. The simulated user is untouched: rewards,
    terminations and the user's own randomness are exactly those of the clean env.

    Args:
        env: the env, single or vector (its observation space must match the attacker's victim).
        attacker: an attacker from :mod:`advrec_gym.attacks`. Its ``embedding_slice`` defaults to
            ``env.unwrapped.embedding_slice``.
        ratio: probability in [0, 1] that a step's observation is attacked (0: never, 1: always);
            the training-time mixing ratio of adversarial training, 1.0 at evaluation.
        seed: seeds the coin flips and the attacker; ``reset(seed=s)`` reseeds both from ``s``, so
            a seeded episode is reproducible.

    ``info`` gains ``attacked`` (bool) and ``perturbation_norm`` (float, in the budget's norm, 0 when
    not attacked).

    Example:
        >>> env = AdversarialObservation(gym.make("AdvRec-v1"), PGD(model, eps=0.01), ratio=1.0)  # doctest: +SKIP
        >>> obs, info = env.reset(seed=0)                                                         # doctest: +SKIP
    """

    def __new__(cls, env: Any = None, *args: Any, **kwargs: Any):
        if isinstance(env, gym.vector.VectorEnv):
            return VectorAdversarialObservation(env, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, env: gym.Env, attacker: Attacker, ratio: float = 1.0, seed: int | None = None):
        _reject_sb3(env)
        super().__init__(env)
        self.ratio = _check_args(env, attacker, ratio)
        self.attacker = attacker
        self._rng = np.random.default_rng(seed)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        _reseed(self, seed)
        return self._attack(obs, info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        obs, info = self._attack(obs, info)
        return obs, reward, terminated, truncated, info

    def _attack(self, obs: np.ndarray, info: dict[str, Any]):
        info = dict(info)
        attacked = bool(self._rng.random() < self.ratio)
        norm = 0.0
        if attacked:
            perturbed = self.attacker.perturb(obs[None])[0]
            norm = float(self.attacker.budget.norm_of((perturbed - obs)[None])[0])
            obs = perturbed
        info["attacked"], info["perturbation_norm"] = attacked, norm
        return obs, info


class VectorAdversarialObservation(gym.vector.VectorWrapper):
    """:class:`AdversarialObservation` for a Gymnasium vector env (what it returns for one).

    Each slot's observation is attacked independently with probability ``ratio``, all attacked rows
    in one batched ``perturb`` call. The env's autoreset mode is kept. With same-step autoreset,
    ``info["final_obs"]`` (the last observation of a finished episode, which learners use only to
    bootstrap) is perturbed under the same coin flip as the slot's returned observation, so a learner
    never bootstraps from a clean view of a step it saw attacked.

    ``info["attacked"]`` (bool, (num_envs,)) and ``info["perturbation_norm"]`` (float32, (num_envs,))
    carry ``_attacked`` / ``_perturbation_norm`` masks (all True), so ``SB3VecEnvAdapter`` forwards
    them into each slot's info dict.
    """

    def __init__(self, env: gym.vector.VectorEnv, attacker: Attacker, ratio: float = 1.0, seed: int | None = None):
        super().__init__(env)
        self.ratio = _check_args(env, attacker, ratio)
        self.attacker = attacker
        self._rng = np.random.default_rng(seed)

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        _reseed(self, seed)
        return self._attack(obs, info)

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        obs, info = self._attack(obs, info)
        return obs, reward, terminated, truncated, info

    def _attack(self, obs: np.ndarray, info: dict[str, Any]):
        n = self.num_envs
        info = dict(info)
        attacked = self._rng.random(n) < self.ratio
        norms = np.zeros(n, dtype=np.float32)
        rows = np.flatnonzero(attacked)
        final, final_mask = info.get("final_obs"), info.get("_final_obs")
        final_rows = rows[final_mask[rows]] if final is not None and final_mask is not None else rows[:0]
        if rows.size:
            batch = obs[rows] if not final_rows.size else np.concatenate([obs[rows], final[final_rows]])
            perturbed = self.attacker.perturb(batch)
            obs = np.array(obs, copy=True)  # never write into the env's own buffer
            norms[rows] = self.attacker.budget.norm_of(perturbed[: rows.size] - obs[rows])
            obs[rows] = perturbed[: rows.size]
            if final_rows.size:
                final = np.array(final, copy=True)
                final[final_rows] = perturbed[rows.size :]
                info["final_obs"] = final
        info["attacked"], info["_attacked"] = attacked, np.ones(n, dtype=bool)
        info["perturbation_norm"], info["_perturbation_norm"] = norms, np.ones(n, dtype=bool)
        return obs, info


def _reject_sb3(env: Any) -> None:
    if hasattr(env, "step_async") and hasattr(env, "step_wait"):
        raise TypeError(
            "env is a stable-baselines3 VecEnv: wrap the Gymnasium vector env first, then adapt it, "
            "e.g. SB3VecEnvAdapter(AdversarialObservation(gym.make_vec('AdvRec-v0', ...), attacker))."
        )
