"""A batched LinUCB contextual bandit whose context is the observation projected onto the item embeddings.

The recommender's observation holds three exponential averages of item embeddings (clicked ``c``,
skipped ``s``, shown ``r``; see :class:`~advrec_gym.AdvRecEnv`). For every user and item the bandit
builds a small feature vector from their projections onto the item's embedding ``e_i``::

    x(o, i) = [<c, e_i>, <s, e_i>, <r, e_i>, <r, e_i>^2, 1]

and models the reward as linear in it, ``E[r | o, i] = <theta, x(o, i)>``, with one ``theta`` shared by
all items and users (the "hybrid" LinUCB of Li et al., 2010, without per-arm parts). Like the
item-embedding policy, its size does not grow with the catalogue, and it scores items it never showed.
The squared shown-similarity lets the linear model learn that re-showing what the user just saw is
penalised by fatigue.

**How it learns, and how the leaderboard evaluates it.** A bandit learns online. It is trained by
:meth:`LinUCBPolicy.learn`: LinUCB (optimism in the face of uncertainty, ``score = <theta, x> +
alpha * sqrt(x^T A^-1 x)``) run on the *training* users for a fixed number of steps, updating after
every step from the observed rewards. It is then **frozen** for evaluation, like every other entry:
the board compares fixed policies, a learned adversary faces a stationary victim, and the evaluation
users never feed the learner. ``predict(deterministic=False)`` is the frozen UCB rule (the exploring
behaviour it trained with), ``deterministic=True`` the greedy mean ``<theta, x>``. Ties (all features
equal, e.g. at the first step of an episode when the history is empty) are broken uniformly at random
from the policy's seeded generator.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from advrec_gym import kernel as K
from advrec_gym._validation import check_float, check_int
from agents.score_views import argmax_distribution, sharpened

NUM_FEATURES = 5
FEATURE_NAMES = ("clicked_sim", "skipped_sim", "shown_sim", "shown_sim_sq", "bias")


def _history_blocks(obs, dim: int):
    """The clicked, skipped and shown averages (batch, 3, dim) of an AdvRec-v0 or -v1 observation.

    v0's observation is ``[clicked | skipped | shown | 3 scalars]``; v1's (``4 * dim + 6``) is
    ``[liked | regretted | skipped | shown | 6 scalars]``, whose liked block stands for the clicks (as
    the nearest-neighbour heuristic reads it). The width tells them apart: ``4 * dim + 6 != 3 * dim + 3``.
    """
    if obs.shape[1] == K.NUM_BLOCKS * dim + K.NUM_SCALARS:
        order = (K.LIKED, K.SKIPPED, K.SHOWN)
    else:
        order = (0, 1, 2)
    parts = [obs[:, i * dim : (i + 1) * dim] for i in order]
    return torch.stack(parts, dim=1) if isinstance(obs, torch.Tensor) else np.stack(parts, axis=1)


def _features(obs, embeddings, dim: int):
    """``x(o, i)`` for numpy arrays or torch tensors alike: (batch, num_items, 5); one code path for
    acting and for the attacks' torch view, so the two cannot drift apart."""
    blocks = _history_blocks(obs, dim)  # clicked (v1: liked), skipped, shown averages
    sims = (blocks @ embeddings.T).swapaxes(1, 2)  # (batch, num_items, 3)
    # the products in the observation's precision, the features in float64 (as LinUCB learns)
    sims = sims.double() if isinstance(sims, torch.Tensor) else sims.astype(np.float64)
    ones = sims[..., :1] * 0 + 1
    parts = [sims, sims[..., 2:3] ** 2, ones]
    return torch.cat(parts, dim=-1) if isinstance(obs, torch.Tensor) else np.concatenate(parts, axis=-1)


class LinUCBPolicy:
    """LinUCB over embedding-projection features, with SB3's ``predict`` signature.

    Args:
        item_embeddings: array (num_items, dim), the catalogue's embeddings in action order.
        alpha: width of the confidence bonus (>= 0; 0 is greedy with respect to the estimate).
        ridge: the prior precision ``lambda`` of ``A = lambda I + sum x x^T`` (> 0).
        slate_size: items per step; a slate is the top ``slate_size`` items by score.
        seed: seed of the tie-breaking generator.

    Example:
        >>> bandit = LinUCBPolicy(venv.unwrapped.catalogue.embeddings, seed=0)   # doctest: +SKIP
        >>> bandit.learn(venv, total_steps=20_000, seed=0)                         # doctest: +SKIP
        >>> actions, _ = bandit.predict(obs)                                       # doctest: +SKIP
    """

    def __init__(
        self,
        item_embeddings: np.ndarray,
        alpha: float = 1.0,
        ridge: float = 1.0,
        slate_size: int = 1,
        seed: int | None = None,
    ):
        emb = np.asarray(item_embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] < 1:
            raise ValueError(f"item_embeddings must have shape (num_items, dim), got {emb.shape}.")
        self.embeddings = emb
        self.num_items, self.dim = emb.shape
        self.alpha = check_float("alpha", alpha, low=0.0)
        self.ridge = check_float("ridge", ridge, low=0.0, low_open=True)
        self.slate_size = check_int("slate_size", slate_size, low=1, high=self.num_items)
        self.rng = np.random.default_rng(seed)
        self.A = self.ridge * np.eye(NUM_FEATURES)
        self.b = np.zeros(NUM_FEATURES)
        self.num_updates = 0
        self._refresh()

    # ------------------------------------------------------------------ model
    def _refresh(self) -> None:
        self.A_inv = np.linalg.inv(self.A)
        self.theta = self.A_inv @ self.b

    def features(self, observation: np.ndarray) -> np.ndarray:
        """Features ``x(o, i)`` of every item for a batch of observations: shape (batch, num_items, 5)."""
        obs = self._check_obs(observation)
        return _features(obs, self.embeddings, self.dim)

    def scores(self, observation: np.ndarray, optimistic: bool = True) -> np.ndarray:
        """Per-item scores, shape (batch, num_items): the estimate, plus the UCB bonus if ``optimistic``."""
        x = self.features(observation)
        mean = x @ self.theta
        if not optimistic or self.alpha == 0.0:
            return mean
        width = np.sqrt(np.maximum(np.einsum("bnk,kl,bnl->bn", x, self.A_inv, x), 0.0))
        return mean + self.alpha * width

    # ------------------------------------------------------------------ what attacks see
    #: the surfaces attacks may read (advrec_gym.attacks.attack_surface): scores and, through
    #: :attr:`gradient_policy`, a differentiable stand-in for the action distribution (no critic)
    attack_surface = frozenset({"scores", "distribution"})

    def action_scores(self, observation: np.ndarray) -> np.ndarray:
        """Scores (batch, num_items) whose softmax stands for the UCB rule's argmax: the UCB scores over
        ``ATTACK_TEMPERATURE`` times their per-row standard deviation (:mod:`agents.score_views`).

        The UCB (``predict(deterministic=False)``) rule is the one attacked: it is the mode the
        leaderboard ranks by. The argmax of these scores is the item :meth:`predict` shows.
        """
        return sharpened(self.scores(observation, optimistic=True))

    @property
    def gradient_policy(self) -> nn.Module:
        """A torch view for white-box attacks: ``get_distribution(obs)``, a categorical over the items
        with logits :meth:`action_scores`, differentiable in the observation (the features are
        projections of it on the item embeddings). A fresh view of the current statistics."""
        return _LinUCBTorchView(self)

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        """Top-scoring item(s) per observation: UCB scores, or the mean estimate if ``deterministic``."""
        obs = np.asarray(observation)
        single = obs.ndim == 1
        s = self.scores(obs[None] if single else obs, optimistic=not deterministic)
        # Random tie-breaking: exact ties occur when features coincide (an empty history at reset).
        keys = s + 1e-9 * self.rng.random(s.shape)
        k = self.slate_size
        if k == 1:
            actions = keys.argmax(axis=1).astype(np.int64)
        else:
            top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
            order = np.take_along_axis(-keys, top, axis=1).argsort(axis=1)
            actions = np.take_along_axis(top, order, axis=1).astype(np.int64)
        return (actions[0] if single else actions), state

    def update(
        self,
        observation: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        clicked_items: np.ndarray | None = None,
    ) -> None:
        """Add one step of a batch of users to the model.

        Args:
            observation: the observations the actions were chosen from, (batch, obs_dim).
            actions: shown items, (batch,) or (batch, slate_size).
            rewards: the step rewards, (batch,).
            clicked_items: the clicked item per user (-1 for none; ``info["clicked_item"]``). Needed
                for slates, where the reward goes to the clicked item and the other shown items get 0;
                with one item per step the reward is that item's.
        """
        obs = self._check_obs(observation)
        acts = np.asarray(actions, dtype=np.int64).reshape(obs.shape[0], -1)
        r = np.asarray(rewards, dtype=np.float64).reshape(obs.shape[0], 1)
        if acts.shape[1] > 1 or clicked_items is not None:
            if clicked_items is None:
                raise ValueError("update() needs clicked_items when each step shows a slate of several items.")
            r = r * (acts == np.asarray(clicked_items).reshape(-1, 1))
        x = np.take_along_axis(self.features(obs), acts[..., None], axis=1).reshape(-1, NUM_FEATURES)
        self.A += x.T @ x
        self.b += x.T @ r.reshape(-1)
        self.num_updates += x.shape[0]
        self._refresh()

    def learn(self, venv, total_steps: int, seed: int) -> LinUCBPolicy:
        """Run LinUCB online on a vector env (same-step autoreset) for about ``total_steps`` env steps.

        The env is reset with ``seed``; every step's rewards update the model before the next step.
        Returns ``self``.
        """
        check_int("total_steps", total_steps, low=1)
        obs, _ = venv.reset(seed=seed)
        for _ in range(math.ceil(total_steps / venv.num_envs)):
            actions, _ = self.predict(obs, deterministic=False)
            next_obs, reward, _, _, info = venv.step(actions)
            self.update(obs, actions, reward, info["clicked_item"] if self.slate_size > 1 else None)
            obs = next_obs
        return self

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> None:
        """Write the learned statistics (``A``, ``b``, settings) to an ``.npz`` file (no pickle)."""
        np.savez(
            path,
            A=self.A,
            b=self.b,
            num_updates=self.num_updates,
            settings=np.array([self.alpha, self.ridge, self.slate_size], dtype=np.float64),
        )

    @classmethod
    def load(cls, path: str | os.PathLike, item_embeddings: np.ndarray, seed: int | None = None) -> LinUCBPolicy:
        """Rebuild a bandit saved by :meth:`save` for the catalogue ``item_embeddings``."""
        with np.load(path, allow_pickle=False) as data:
            alpha, ridge, slate_size = data["settings"]
            bandit = cls(item_embeddings, alpha=float(alpha), ridge=float(ridge), slate_size=int(slate_size), seed=seed)
            bandit.A, bandit.b = data["A"].astype(np.float64), data["b"].astype(np.float64)
            bandit.num_updates = int(data["num_updates"])
        if bandit.A.shape != (NUM_FEATURES, NUM_FEATURES) or bandit.b.shape != (NUM_FEATURES,):
            raise ValueError(
                f"{os.fspath(path)!r} is not a LinUCBPolicy file (A {bandit.A.shape}, b {bandit.b.shape})."
            )
        bandit._refresh()
        return bandit

    def _check_obs(self, observation: np.ndarray) -> np.ndarray:
        obs = np.asarray(observation, dtype=np.float32)
        if obs.ndim != 2 or obs.shape[1] < 3 * self.dim:
            raise ValueError(
                f"observation must have shape (batch, obs_dim) with obs_dim >= 3 * {self.dim} "
                f"(three embedding averages), got {obs.shape}."
            )
        return obs


class _LinUCBTorchView(nn.Module):
    """LinUCB's UCB scores as an SB3-style torch policy: what the gradient attacks differentiate.

    The statistics are buffers (float64, so the scores match the numpy ones to rounding); the module
    has no parameters. Not used to act: LinUCB acts through its own ``predict``.
    """

    def __init__(self, bandit: LinUCBPolicy):
        super().__init__()
        self.dim, self.alpha, self.slate_size = bandit.dim, bandit.alpha, bandit.slate_size
        self.register_buffer("embeddings", torch.tensor(bandit.embeddings, dtype=torch.float32))
        self.register_buffer("theta", torch.as_tensor(bandit.theta, dtype=torch.float64))
        self.register_buffer("A_inv", torch.as_tensor(bandit.A_inv, dtype=torch.float64))
        n = bandit.num_items
        self.action_space = (
            spaces.Discrete(n) if bandit.slate_size == 1 else spaces.MultiDiscrete([n] * bandit.slate_size)
        )

    @property
    def item_embeddings(self) -> torch.Tensor:
        return self.embeddings

    def scores(self, obs: torch.Tensor) -> torch.Tensor:
        """The UCB scores (batch, num_items), float64, differentiable in ``obs``: from a float32 ``obs``
        :meth:`LinUCBPolicy.scores`' numbers to float32 rounding (the products in float32, as there),
        from a float64 one in float64 throughout."""
        x = _features(obs, self.embeddings.to(obs.dtype), self.dim)
        mean = x @ self.theta
        if self.alpha == 0.0:
            return mean
        # the width's square root has an infinite slope at 0: keep it off 0 (1e-12, far below any real width)
        width = torch.einsum("bnk,kl,bnl->bn", x, self.A_inv, x).clamp(min=1e-12).sqrt()
        return mean + self.alpha * width

    def get_distribution(self, obs: torch.Tensor):
        return argmax_distribution(self.scores(obs), self.slate_size)
