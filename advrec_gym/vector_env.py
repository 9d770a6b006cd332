"""AdvRec-v1, natively batched: N users stepped together by the one compiled kernel."""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from advrec_gym import kernel as K
from advrec_gym._validation import check_int, reject_unknown
from advrec_gym.actions import check_batch_actions
from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.dynamics import Dynamics
from advrec_gym.encoder import TransformerEncoder
from advrec_gym.options import ENV_KWARGS, build_engine, single_spaces
from advrec_gym.quality import ItemKinds
from advrec_gym.users import UserModel, UserPopulation

_INFO_KEYS = ("click", "clicked_item", "satisfaction", "low_quality_shown", "low_quality_clicked")


class AdvRecVectorEnv(VectorEnv):
    """``num_envs`` AdvRec-v1 users in one batched simulator (see :class:`~advrec_gym.AdvRecEnv` for the manual).

    Takes the keyword arguments of :class:`~advrec_gym.AdvRecEnv` (``horizon`` included), plus:

    Args:
        num_envs: number of users simulated together.
        max_episode_steps: the same as ``horizon`` (``gym.make_vec`` passes the registered limit when
            there is one); give one of the two.
        copy: return a fresh observation array each call (default). ``False`` returns the engine's
            buffer itself, which the next ``step`` overwrites: faster, for callers that consume the
            observation before stepping again.
        threads: numba threads that step the users (default 1). Each user's update is independent and
            its draws depend only on its own counters, so any thread count gives the same trajectories;
            more threads pay off for thousands of users on an otherwise idle machine (during PPO
            training the policy's torch threads want the cores).

    Autoreset is **same-step** (``metadata["autoreset_mode"] == AutoresetMode.SAME_STEP``), inside the
    kernel: when slot ``i`` ends, ``step`` returns the first observation of its next episode, and the
    last observation of the finished one is in ``info["final_obs"][i]`` (mask ``info["_final_obs"]``).
    Gymnasium's vector wrappers that need next-step autoreset (e.g. ``NormalizeObservation``) do not
    apply; stable-baselines3 (through :class:`~advrec_gym.sb3_adapter.SB3VecEnvAdapter`) and the
    project's wrappers are same-step.

    Seeding: ``reset(seed=s)`` keys slot ``i`` from ``s + i`` (a list keys each slot); the slot then
    follows exactly what ``AdvRecEnv`` reset with that seed does under the same actions, autoresets
    included (each is the key's next episode, as a seedless ``reset()`` of the single env).
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        catalogue: Catalogue | None = None,
        *,
        num_items: int | None = None,
        num_topics: int | None = None,
        catalogue_seed: int | None = None,
        kinds: ItemKinds | None = None,
        encoder: TransformerEncoder | str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        user_model: UserModel | UserPopulation | None = None,
        choice_model: LogitChoice | None = None,
        dynamics: Dynamics | None = None,
        slate_size: int = 1,
        horizon: int | None = 100,
        max_episode_steps: int | None = None,
        copy: bool = True,
        threads: int = 1,
        render_mode: str | None = None,
        **unknown: Any,
    ):
        reject_unknown(unknown, (*ENV_KWARGS, "num_envs", "max_episode_steps", "copy", "threads", "render_mode"))
        if render_mode is not None:
            raise ValueError(
                f"render_mode must be None for the vector env, got render_mode={render_mode!r}: render a single "
                'env (gym.make("AdvRec-v1", render_mode="ansi" or "rgb_array")).'
            )
        self.num_envs = check_int("num_envs", num_envs, low=1)
        if not isinstance(copy, (bool, np.bool_)):
            raise TypeError(f"copy must be a bool, got copy={copy!r} ({type(copy).__name__}).")
        if max_episode_steps is not None:
            if horizon not in (None, 100) and horizon != max_episode_steps:
                raise ValueError(
                    f"Give horizon or max_episode_steps, not both: got horizon={horizon}, "
                    f"max_episode_steps={max_episode_steps}."
                )
            horizon = check_int("max_episode_steps", max_episode_steps, low=1)
        options = dict(catalogue=catalogue, num_items=num_items, num_topics=num_topics, catalogue_seed=catalogue_seed)
        options.update(kinds=kinds, encoder=encoder, cache_dir=cache_dir, user_model=user_model)
        options.update(choice_model=choice_model, dynamics=dynamics, slate_size=slate_size, horizon=horizon)
        self.engine = build_engine(self.num_envs, True, **options)
        self.engine.set_threads(threads)
        self.single_action_space, self.single_observation_space = single_spaces(self.engine)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.render_mode = None
        self.copy = bool(copy)
        self._all = np.arange(self.num_envs, dtype=np.int64)
        self._ones = np.ones(self.num_envs, dtype=bool)

    @property
    def catalogue(self) -> Catalogue:
        return self.engine.catalogue

    @property
    def embedding_slice(self) -> slice:
        """The part of each observation made of item embeddings (the attack surface)."""
        return self.engine.embedding_slice

    @property
    def scalar_names(self) -> tuple[str, ...]:
        return K.SCALAR_NAMES

    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None):
        seeds = _slot_seeds(seed, self.num_envs)
        if seeds is not None:
            first = seeds[0]
            self._np_random_seed = first if first is not None else -1
            self._np_random = np.random.default_rng(first)
        self.engine.reset(self._all, seeds)
        return self._obs(), {}

    def step(self, actions):
        eng = self.engine
        if not eng.seeded:
            raise RuntimeError("Call reset() before step().")
        slates = check_batch_actions(actions, self.num_envs, eng.catalogue.num_items, eng.slate_size)
        done_count = eng.step(slates)
        out = eng.out
        reward = out[:, 0].astype(np.float32)
        terminated, truncated = out[:, 1] > 0, out[:, 2] > 0
        clicked_item = out[:, 3].astype(np.int64)
        infos: dict[str, Any] = {
            "click": clicked_item >= 0,
            "clicked_item": clicked_item,
            "satisfaction": out[:, 4].astype(np.float32),
            "low_quality_shown": out[:, 5].astype(np.float32),
            "low_quality_clicked": out[:, 6] > 0,
        }
        for key in _INFO_KEYS:
            infos[f"_{key}"] = self._ones
        if done_count:
            done = terminated | truncated
            if self.copy:
                final = np.zeros(eng.obs.shape, dtype=eng.obs.dtype)  # calloc: only the rows written cost
                final[done] = eng.final[done]
            else:
                final = eng.final
            infos["final_obs"], infos["_final_obs"] = final, done
        return self._obs(), reward, terminated, truncated, infos

    def _obs(self) -> np.ndarray:
        return self.engine.obs.copy() if self.copy else self.engine.obs


def _slot_seeds(seed, num_envs: int) -> list[int | None] | None:
    """Per-slot seeds for ``reset(seed=...)``: ``None`` keeps the keys (the slots' next episodes)."""
    if seed is None:
        return None
    if isinstance(seed, Integral) and not isinstance(seed, bool):
        base = check_int("seed", seed, low=0)
        return [base + i for i in range(num_envs)]
    if isinstance(seed, (str, bytes)) or not isinstance(seed, Sequence | np.ndarray):
        raise TypeError(f"seed must be None, a non-negative int or a list of {num_envs} seeds, got seed={seed!r}.")
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(f"seed must be an int, None or a list of {num_envs} seeds, got a list of {len(seeds)}.")
    return [None if s is None else check_int(f"seed[{i}]", s, low=0) for i, s in enumerate(seeds)]
