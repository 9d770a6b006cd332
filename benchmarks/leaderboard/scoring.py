"""The one place where the board calls the project's evaluator, and the per-episode keys that pair rows.

Every row is scored on the same evaluation users. A vector env reset with seed ``s`` gives slot ``i``
its own generator seeded ``s + i``, and the slot's first user is drawn from it at that reset, before
the policy acts: with one episode per slot (the board's default, ``eval_num_envs = episodes``) every
row meets exactly the same users, by construction. An episode is identified by **(evaluation seed,
slot, index within the slot)**. On AdvRec-v1 a slot's later episodes (``eval_num_envs < episodes``)
are the same users for every row too: each user is drawn from the slot's key and the episode's index
alone (counter-based randomness), whatever the policy did before. On AdvRec-v0 they are only when the
env draws a fixed amount of randomness per episode (it does with at most 128 steps per episode), which
is why the board does not rely on them by default. :func:`score` returns the episodes in key order: slot by slot, each
slot's episodes in the order they were played, the evaluator's own share per slot
(:func:`episodes_per_slot`). The board stores them per cell (:mod:`.cells`).

:class:`EpisodeLog` records each slot's finished episodes as the evaluator drives the env, under the
attack, so its rewards are the user's (an attack never changes what the user does). The episodes it
keeps are checked against the evaluator's own (the same multiset of returns, lengths and clicks), so
a change in the evaluator's episode selection fails loudly rather than mis-pairing rows. It also
measures the clean history blocks' norms (the scale that budgets are stated against).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np


def episodes_per_slot(episodes: int, slots: int) -> list[int]:
    """How many of ``episodes`` each of ``slots`` slots runs: ``(episodes + i) // slots`` (the evaluator's share)."""
    return [(episodes + i) // slots for i in range(slots)]


def episode_keys(eval_seeds: tuple[int, ...] | list[int], episodes: int, slots: int) -> list[tuple[int, int, int]]:
    """``(evaluation seed, slot, index within the slot)`` of each stored episode, in storage order."""
    per_slot = episodes_per_slot(episodes, slots)
    return [(s, i, k) for s in eval_seeds for i, n in enumerate(per_slot) for k in range(n)]


@dataclass(frozen=True)
class Scored:
    """One evaluation's episodes in key order (slot, index), and the clean history-block norms.

    Attributes:
        returns / lengths / clicks: per episode, ordered by (slot, index within the slot).
        block_norms: per history block of the observation (``embedding_slice`` cut into pieces of
            the catalogue's embedding size), the mean L2 norm of the clean block over the steps where
            it was not zero; ``None`` unless asked for.
    """

    returns: np.ndarray
    lengths: np.ndarray
    clicks: np.ndarray
    block_norms: list[float] | None = None

    @property
    def mean_return(self) -> float:
        return float(self.returns.mean())

    @property
    def ctr(self) -> float:
        return float(self.clicks.sum() / max(self.lengths.sum(), 1))


class EpisodeLog(gym.vector.VectorWrapper):
    """Record each slot's finished episodes (return, length, clicks) in order; optionally the block norms.

    It must sit directly on the env (under any attack wrapper): it reads the clean observations and
    the user's rewards. Works on any observation layout: the blocks are ``env.unwrapped.embedding_slice``
    cut into pieces of the catalogue's embedding size.
    """

    def __init__(self, env: gym.vector.VectorEnv, measure_blocks: bool = False):
        super().__init__(env)
        self.measure_blocks = measure_blocks
        span = env.unwrapped.embedding_slice
        dim = int(np.asarray(env.unwrapped.catalogue.embeddings).shape[1])
        width = span.stop - span.start
        if width % dim:
            raise ValueError(f"embedding_slice {span} is not a whole number of {dim}-d blocks.")
        self._span, self._dim, self._blocks = span, dim, width // dim
        self._clear()

    def _clear(self) -> None:
        n = self.num_envs
        self.finished: list[list[tuple[float, int, int]]] = [[] for _ in range(n)]
        self._ret, self._len, self._clicks = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        self._norm_sum, self._norm_count = np.zeros(self._blocks), np.zeros(self._blocks, dtype=np.int64)

    def _measure(self, obs: np.ndarray) -> None:
        if self.measure_blocks:
            blocks = np.asarray(obs)[:, self._span].reshape(len(obs), self._blocks, self._dim)
            norms = np.linalg.norm(blocks.astype(np.float64), axis=2)
            nonzero = norms > 0
            self._norm_sum += np.where(nonzero, norms, 0.0).sum(axis=0)
            self._norm_count += nonzero.sum(axis=0)

    def reset(self, *, seed: Any = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._clear()
        self._measure(obs)
        return obs, info

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self._ret += reward
        self._len += 1
        self._clicks += np.asarray(info["click"], dtype=np.int64)
        for i in np.flatnonzero(np.logical_or(terminated, truncated)):
            self.finished[i].append((float(self._ret[i]), int(self._len[i]), int(self._clicks[i])))
            self._ret[i], self._len[i], self._clicks[i] = 0.0, 0, 0
        self._measure(obs)  # same-step autoreset: a finished slot's obs is its next user's first one
        return obs, reward, terminated, truncated, info

    def block_norms(self) -> list[float]:
        counts = np.maximum(self._norm_count, 1)
        return [float(x) for x in self._norm_sum / counts]

    def ordered(self, per_slot: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first ``per_slot[i]`` finished episodes of each slot ``i``, slot by slot."""
        rows = []
        for i, n in enumerate(per_slot):
            if len(self.finished[i]) < n:
                raise RuntimeError(f"slot {i} finished {len(self.finished[i])} episodes, the evaluator counted {n}.")
            rows += self.finished[i][:n]
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
        return arr[:, 0], arr[:, 1].astype(np.int64), arr[:, 2].astype(np.int64)


def score(
    venv: gym.vector.VectorEnv,
    policy: Any,
    *,
    episodes: int,
    seed: int,
    deterministic: bool = False,
    attacker: Any = None,
    measure_blocks: bool = False,
) -> Scored:
    """Evaluate ``policy`` on ``venv`` (reset with ``seed``) for ``episodes`` episodes, under ``attacker`` if given.

    The evaluation itself is the project's one evaluator; this adds the per-episode keys.
    """
    from advrec_gym.evaluation import evaluate
    from advrec_gym.wrappers import AdversarialObservation

    log = EpisodeLog(venv, measure_blocks=measure_blocks)
    env = log if attacker is None else AdversarialObservation(log, attacker, ratio=1.0)
    result = evaluate(env, policy, episodes, seed=seed, deterministic=deterministic)
    returns, lengths, clicks = log.ordered(episodes_per_slot(episodes, venv.num_envs))
    ours = sorted(zip(returns.tolist(), lengths.tolist(), clicks.tolist(), strict=True))
    theirs = sorted(
        zip(
            np.asarray(result.returns, dtype=np.float64).tolist(),
            np.asarray(result.lengths).tolist(),
            np.asarray(result.clicks).tolist(),
            strict=True,
        )
    )
    if ours != theirs:
        raise RuntimeError(
            "The evaluator's episodes are not the first (episodes + slot) // num_envs of each slot: the "
            "board's per-episode keys would pair the wrong users. Update scoring.episodes_per_slot."
        )
    return Scored(returns, lengths, clicks, log.block_norms() if measure_blocks else None)
