"""AdvRec-v0, natively batched: N users stepped together by one engine."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from advrec_gym._validation import check_int, reject_unknown
from advrec_gym.actions import check_batch_actions
from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.encoder import TransformerEncoder
from advrec_gym.users import UserModel
from advrec_gym.v0.engine import SCALAR_NAMES, HistoryRates
from advrec_gym.v0.options import ENV_KWARGS, build_engine, single_spaces


class AdvRecVectorEnv(VectorEnv):
    """``num_envs`` AdvRec users in one batched simulator (see :class:`~advrec_gym.v0.AdvRecEnv` for the manual).

    Takes the same keyword arguments as :class:`~advrec_gym.v0.AdvRecEnv`, plus:

    Args:
        num_envs: number of users simulated together.
        max_episode_steps: truncate each episode after this many steps (``gym.make_vec`` passes the
            registered 100); ``None`` never truncates.
        copy: return a fresh observation array each call (default). ``False`` returns the engine's
            buffer itself, which the next ``step`` overwrites: faster, for callers that consume the
            observation before stepping again.

    Autoreset is **same-step** (``metadata["autoreset_mode"] == AutoresetMode.SAME_STEP``): when slot
    ``i`` ends, ``step`` returns the first observation of its next episode, and the last observation
    of the finished one is in ``info["final_obs"][i]`` (with the mask ``info["_final_obs"]``).

    Seeding: ``reset(seed=s)`` seeds slot ``i`` with ``s + i`` (a list seeds each slot); the slot then
    follows exactly what ``AdvRecEnv`` reset with that seed does under the same actions.
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
        encoder: TransformerEncoder | str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        user_model: UserModel | None = None,
        choice_model: LogitChoice | None = None,
        slate_size: int = 1,
        reward: str = "click",
        skip_cost: float = 1.0,
        history_rates: HistoryRates | None = None,
        max_episode_steps: int | None = None,
        copy: bool = True,
        render_mode: str | None = None,
        **unknown: Any,
    ):
        reject_unknown(unknown, ENV_KWARGS + ("num_envs", "max_episode_steps", "copy"))
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (AdvRec has no renderer), got render_mode={render_mode!r}.")
        self.num_envs = check_int("num_envs", num_envs, low=1)
        if not isinstance(copy, (bool, np.bool_)):
            raise TypeError(f"copy must be a bool, got copy={copy!r} ({type(copy).__name__}).")
        self.engine = build_engine(
            self.num_envs,
            catalogue=catalogue,
            num_items=num_items,
            num_topics=num_topics,
            catalogue_seed=catalogue_seed,
            encoder=encoder,
            cache_dir=cache_dir,
            user_model=user_model,
            choice_model=choice_model,
            slate_size=slate_size,
            reward=reward,
            skip_cost=skip_cost,
            history_rates=history_rates,
            max_episode_steps=max_episode_steps,
        )
        self.single_action_space, self.single_observation_space = single_spaces(self.engine)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.render_mode = None
        self.copy = bool(copy)
        self._all = np.arange(self.num_envs)

    @property
    def catalogue(self) -> Catalogue:
        return self.engine.catalogue

    @property
    def embedding_slice(self) -> slice:
        """The part of each observation made of item embeddings (the attack surface)."""
        return self.engine.embedding_slice

    @property
    def scalar_names(self) -> tuple[str, ...]:
        return SCALAR_NAMES

    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None):
        seeds = _slot_seeds(seed, self.num_envs)
        if seed is not None or self.engine.rngs[0] is None:
            self._np_random, self._np_random_seed = seeding.np_random(seeds[0])
            for i, s in enumerate(seeds):
                self.engine.rngs[i] = self._np_random if i == 0 else seeding.np_random(s)[0]
        self.engine.reset_users(self._all)
        return self._obs(), {}

    def step(self, actions):
        if self.engine.rngs[0] is None:
            raise RuntimeError("Call reset() before step().")
        eng = self.engine
        slates = check_batch_actions(actions, self.num_envs, eng.catalogue.num_items, eng.slate_size)
        reward, terminated, truncated, clicked_item = eng.step(slates)
        infos: dict[str, Any] = {"click": clicked_item >= 0, "clicked_item": clicked_item}
        infos["_click"] = infos["_clicked_item"] = np.ones(self.num_envs, dtype=bool)
        done = terminated | truncated
        if done.any():
            rows = np.flatnonzero(done)
            final = np.zeros(eng.obs.shape, dtype=eng.obs.dtype)  # calloc: only the rows written cost
            final[rows] = eng.obs[rows]
            infos["final_obs"], infos["_final_obs"] = final, done
            eng.reset_users(rows)
        return self._obs(), reward, terminated, truncated, infos

    def _obs(self) -> np.ndarray:
        return self.engine.obs.copy() if self.copy else self.engine.obs


def _slot_seeds(seed, num_envs: int) -> list[int | None]:
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return [int(seed) + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(f"seed must be an int, None or a list of {num_envs} seeds, got a list of {len(seeds)}.")
    return seeds
