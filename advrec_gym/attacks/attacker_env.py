"""The attacker's own MDP against a frozen victim: train a learned adversary with any RL library.

The attacker observes the clean recommender observation, acts with a direction in [-1, 1]^d that the
budget maps into the ball, the victim acts on the perturbed observation, and the attacker earns minus
the recommender's reward (Zhang et al. 2021, "Robust RL on state observations with learned optimal
adversary", ATLA / SA-RL).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from advrec_gym._validation import check_int
from advrec_gym.attacks.base import Attacker, check_clip_range, make_budget
from advrec_gym.attacks.budget import Budget
from advrec_gym.attacks.victim import VictimActor, action_probabilities, probabilities_size

DEFAULT_ENV_ID = "AdvRec-v1"  # advrec_gym.DEFAULT_ENV_ID (not imported: advrec_gym imports this package)

# Keeps the victim's sampling stream apart from the env's (same seed, different stream).
_VICTIM_STREAM = 0xA77AC2


def _victim_seed(seed: int) -> int:
    return int(np.random.SeedSequence([int(seed), _VICTIM_STREAM]).generate_state(1)[0])


class _AttackStep:
    """What both attacker envs share: observe, map a direction into the ball, let the victim act."""

    def __init__(self, victim, env_obs_space, env_act_space, embedding_slice, budget, include_probs, greedy, clip):
        self.actor = VictimActor(victim)
        if not isinstance(env_obs_space, spaces.Box) or len(env_obs_space.shape) != 1:
            raise TypeError(f"AttackerEnv needs a 1-D Box observation space, got {env_obs_space}.")
        victim_space = self.actor.observation_space
        if victim_space is not None and victim_space.shape != env_obs_space.shape:
            raise ValueError(
                f"The victim expects observations of shape {victim_space.shape}, but the env's have shape "
                f"{env_obs_space.shape}: attack the env the victim was trained on."
            )
        if not isinstance(embedding_slice, slice):
            raise TypeError("AttackerEnv needs an env whose unwrapped env has an embedding_slice (AdvRec-v0).")
        self.slice, self.budget = embedding_slice, budget
        self.applier = Attacker(budget, embedding_slice=embedding_slice, clip_range=check_clip_range(clip))
        self.applier.bind(env_obs_space, embedding_slice)
        self.include_probs, self.greedy = bool(include_probs), bool(greedy)
        low, high = env_obs_space.low, env_obs_space.high
        if self.include_probs:
            if self.actor.policy is None:
                raise TypeError(
                    "include_victim_probs=True needs the victim's action probabilities: pass an SB3 model or "
                    f"policy as victim, got {type(victim).__name__}."
                )
            k = probabilities_size(env_act_space)
            low = np.concatenate([low, np.zeros(k, dtype=np.float32)])
            high = np.concatenate([high, np.ones(k, dtype=np.float32)])
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        d = embedding_slice.stop - embedding_slice.start
        self.action_space = spaces.Box(-1.0, 1.0, shape=(d,), dtype=np.float32)

    def observe(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float32)
        if not self.include_probs:
            return obs.copy()
        return np.concatenate([obs, action_probabilities(self.actor.policy, obs)], axis=1)

    def attack(self, obs: np.ndarray, actions: Any, rng: np.random.Generator):
        """(victim actions, perturbation norms) for a batch of clean ``obs`` and attacker ``actions``."""
        n, d = len(obs), self.action_space.shape[0]
        direction = np.asarray(actions, dtype=np.float32)
        if direction.size != n * d:
            raise ValueError(f"Attacker actions must have shape ({n}, {d}) or ({d},), got shape {direction.shape}.")
        direction = direction.reshape(n, d)
        if not np.all(np.isfinite(direction)):
            raise ValueError("Attacker actions must be finite: they contain NaN or inf.")
        delta = self.budget.from_unit(np.clip(direction, -1.0, 1.0))
        perturbed = obs.copy()
        perturbed[:, self.slice] = self.applier.apply(obs[:, self.slice], delta)
        norms = self.budget.norm_of(perturbed[:, self.slice] - obs[:, self.slice]).astype(np.float32)
        return self.actor.act(perturbed, rng, deterministic=self.greedy), norms


class AttackerEnv(gym.Env):
    """The learned adversary's MDP against a frozen victim recommender (one user at a time).

    ## Action Space

    ``Box(-1, 1, (d,), float32)``, ``d`` the size of the recommender observation's embedding slice
    (1,152 for the default env): a direction mapped into the ball by ``Budget.from_unit`` (L-inf:
    ``eps * a``; L2: ``eps * a / sqrt(d)``, projected), added to the embedding slice and clipped to the
    observation bounds.

    ## Observation Space

    The clean recommender observation (the env's ``Box``), followed, with ``include_victim_probs=True``,
    by the victim's action probabilities on it (``num_items`` numbers per slate position, in [0, 1]).

    ## Rewards

    Minus the recommender's reward for the step the victim took on the perturbed observation.

    ## Episode End

    The recommender's episode's: ``terminated`` when the user leaves, ``truncated`` by its time limit.

    ## Arguments

    | argument | default | meaning |
    |---|---|---|
    | ``victim`` | | an SB3 model or policy (or any object with SB3's ``predict``), frozen |
    | ``env`` | ``None`` | the recommender env; ``None`` builds ``gym.make("AdvRec-v1", **env_kwargs)`` |
    | ``budget`` / ``eps``, ``norm`` | | the ball |
    | ``include_victim_probs`` | ``False`` | append the victim's action probabilities to the observation |
    | ``victim_deterministic`` | ``False`` | the victim acts greedily; by default it samples (from this env's seeded generator), as it is evaluated |
    | ``clip_range`` | ``(-1, 1)`` | bounds of the perturbed embedding coordinates |

    ``info``: ``victim_reward``, ``victim_action``, ``perturbation_norm`` and the env's ``click``.

    Example:
        >>> env = AttackerEnv(model, eps=0.01, norm="inf")      # doctest: +SKIP
        >>> adversary = PPO("MlpPolicy", env).learn(20_000)     # doctest: +SKIP
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        victim: Any,
        env: gym.Env | None = None,
        *,
        budget: Budget | None = None,
        eps: float | None = None,
        norm: str = "inf",
        include_victim_probs: bool = False,
        victim_deterministic: bool = False,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        **env_kwargs: Any,
    ):
        budget = make_budget(budget, eps, norm)
        if env is None:
            env = gym.make(DEFAULT_ENV_ID, **env_kwargs)
        elif env_kwargs:
            raise TypeError(f"Give env or env keyword arguments, not both; got env and {sorted(env_kwargs)}.")
        if isinstance(env, VectorEnv):
            raise TypeError("AttackerEnv takes a single env; use AttackerVectorEnv for a vector env.")
        self.env = env
        self.budget = budget
        self._core = _AttackStep(
            victim,
            env.observation_space,
            env.action_space,
            getattr(env.unwrapped, "embedding_slice", None),
            budget,
            include_victim_probs,
            victim_deterministic,
            clip_range,
        )
        self.observation_space, self.action_space = self._core.observation_space, self._core.action_space
        self.render_mode = None
        self._obs: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=None if seed is None else _victim_seed(seed))
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = np.asarray(obs, dtype=np.float32)[None]
        return self._core.observe(self._obs)[0], dict(info)

    def step(self, action):
        if self._obs is None:
            raise gym.error.ResetNeeded("Call reset() before step().")
        victim_actions, norms = self._core.attack(self._obs, action, self.np_random)
        victim_action = victim_actions[0]
        obs, reward, terminated, truncated, env_info = self.env.step(victim_action)
        self._obs = np.asarray(obs, dtype=np.float32)[None]
        info = {
            "victim_reward": float(reward),
            "victim_action": victim_action.item() if victim_action.ndim == 0 else victim_action,
            "perturbation_norm": float(norms[0]),
        }
        if "click" in env_info:
            info["click"] = env_info["click"]
        return self._core.observe(self._obs)[0], 0.0 - float(reward), bool(terminated), bool(truncated), info

    def close(self) -> None:
        self.env.close()


class AttackerVectorEnv(VectorEnv):
    """:class:`AttackerEnv`, batched over a same-step-autoreset vector env: one victim forward per step.

    Train with SB3 through the adapter: ``PPO("MlpPolicy", SB3VecEnvAdapter(AttackerVectorEnv(...)))``.

    Args:
        victim, budget, eps, norm, include_victim_probs, victim_deterministic, clip_range: as
            :class:`AttackerEnv`.
        env: a Gymnasium vector env with same-step autoreset; ``None`` builds
            ``gym.make_vec("AdvRec-v1", num_envs=num_envs, vectorization_mode="vector_entry_point", **env_kwargs)``.
        num_envs: slots, when ``env`` is ``None``.

    ``info["final_obs"]`` holds the finished episodes' last *clean* observations (what the attacker
    observes); ``victim_reward`` and ``perturbation_norm`` are per-slot arrays.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        victim: Any,
        env: VectorEnv | None = None,
        *,
        num_envs: int = 8,
        budget: Budget | None = None,
        eps: float | None = None,
        norm: str = "inf",
        include_victim_probs: bool = False,
        victim_deterministic: bool = False,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        **env_kwargs: Any,
    ):
        budget = make_budget(budget, eps, norm)
        if env is None:
            num_envs = check_int("num_envs", num_envs, low=1)
            env = gym.make_vec(DEFAULT_ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **env_kwargs)
        elif env_kwargs:
            raise TypeError(f"Give env or env keyword arguments, not both; got env and {sorted(env_kwargs)}.")
        if not isinstance(env, VectorEnv):
            raise TypeError(f"env must be a gymnasium.vector.VectorEnv, got {type(env).__name__}.")
        mode = env.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(f"AttackerVectorEnv needs a vector env with same-step autoreset, got {mode!r}.")
        self.env, self.budget, self.num_envs = env, budget, env.num_envs
        self._core = _AttackStep(
            victim,
            env.single_observation_space,
            env.single_action_space,
            getattr(env.unwrapped, "embedding_slice", None),
            budget,
            include_victim_probs,
            victim_deterministic,
            clip_range,
        )
        self.single_observation_space = self._core.observation_space
        self.single_action_space = self._core.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = None
        self._obs: np.ndarray | None = None

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        first = (
            seed
            if seed is None or isinstance(seed, (int, np.integer))
            else next((s for s in seed if s is not None), None)
        )
        if first is not None:
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(_victim_seed(first))
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = np.array(obs, dtype=np.float32)
        return self._core.observe(self._obs), dict(info)

    def step(self, actions):
        if self._obs is None:
            raise RuntimeError("Call reset() before step().")
        victim_actions, norms = self._core.attack(self._obs, actions, self.np_random)
        obs, reward, terminated, truncated, env_info = self.env.step(victim_actions)
        self._obs = np.array(obs, dtype=np.float32)
        ones = np.ones(self.num_envs, dtype=bool)
        reward = np.asarray(reward, dtype=np.float32)
        info: dict[str, Any] = {"victim_reward": reward, "_victim_reward": ones}
        info["perturbation_norm"], info["_perturbation_norm"] = norms, ones
        info["victim_action"], info["_victim_action"] = victim_actions, ones
        if "click" in env_info:
            info["click"], info["_click"] = env_info["click"], ones
        if "final_obs" in env_info:
            mask = env_info["_final_obs"]
            final = np.zeros((self.num_envs, self.single_observation_space.shape[0]), dtype=np.float32)
            final[mask] = self._core.observe(np.asarray(env_info["final_obs"])[mask])
            info["final_obs"], info["_final_obs"] = final, mask
        return self._core.observe(self._obs), 0.0 - reward, terminated, truncated, info

    def close_extras(self, **kwargs: Any) -> None:
        self.env.close()
