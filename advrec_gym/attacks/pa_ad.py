"""PA-AD (Sun et al. 2022, "Who is the strongest enemy?"): a learned director, realised by a gradient actor.

A learned adversary that acts on the observation directly must search the whole embedding slice
(1,152 numbers for 384-d embeddings) from a scalar reward. PA-AD splits the job: an RL **director**
chooses a direction in the victim's *policy* space, and a white-box **actor** finds the perturbation
in the ball that moves the victim's policy furthest along it. Sun et al. show the optimal attack is
reachable this way, with a director that searches a much smaller space. For a recommender the policy
space is the catalogue; directions in it are taken in the span of the item embeddings: the director
outputs ``u`` (one unit vector of the embedding dimension per slate position), item ``j`` gets weight
``<e_j, u>``, and the actor maximises ``sum_j pi(j | o + d) <e_j, u> = <E_pi[e], u>`` (APGD on the
``"direction"`` objective): it moves the expected embedding of what the victim shows along ``u``.

The director is any policy with SB3's ``predict`` whose action ``a`` is a point of
``[-1, 1]^(positions * dim)``; train it with PPO on :class:`~advrec_gym.attacks.AttackerVectorEnv`
given ``actor=PAAD(None, victim, ...)`` (see ``agents.training.best_response``). With ``prior=True``
(default) the director acts *relative to the expected-embedding direction*: the realised direction is
``u = normalise(-sqrt(dim) * E_pi0[e] / |E_pi0[e]| + a)``, so a director whose mean action is 0 (an
untrained PPO's) is the ``"pgd-semantic"`` attack, and PPO learns the residual that costs the victim
more *return*. (A director that must output the direction itself and is fit to it on clean states
generalised poorly to the states the attack leads to: measured, victim return 6.4 against 2.7 for the
attack it imitated.) A corner of the action cube has the prior's norm, so the director can still
point anywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from advrec_gym._validation import check_int
from advrec_gym.attacks.apgd import APGD
from advrec_gym.attacks.base import Attacker
from advrec_gym.attacks.budget import Budget


class PAAD(Attacker):
    """Policy-adversarial actor-director attack: the director's direction, realised by APGD.

    Args:
        director: a trained director (SB3 ``predict`` on the clean observation, action in
            ``[-1, 1]^(positions * dim)``); ``None`` while it is being trained (use :meth:`realise`).
        victim: the recommender, with a differentiable action distribution (SB3 model or policy, or a
            ``gradient_policy`` view).
        budget: the ball (or give ``eps`` and ``norm``).
        steps: the actor's APGD steps.
        deterministic: use the director's mean action (default) rather than a sample.
        prior: add the director's action to the expected-embedding direction (see the module doc).
        item_embeddings: (num_items, dim); default: the bound env's catalogue, or the victim's own.
        embedding_slice, clip_range, seed: as in :class:`~advrec_gym.attacks.Attacker`.
    """

    name = "pa-ad"
    white_box = True

    def __init__(
        self,
        director: Any,
        victim: Any,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        steps: int = 10,
        deterministic: bool = True,
        prior: bool = True,
        item_embeddings: Any = None,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        if director is not None and not callable(getattr(director, "predict", None)):
            raise TypeError(
                "director must have SB3's predict(obs, deterministic=...) (e.g. PPO trained on AttackerVectorEnv "
                f"with actor=PAAD(None, victim, ...)), or be None while training; got {type(director).__name__}."
            )
        self.director = director
        self.deterministic = bool(deterministic)
        self.prior = bool(prior)
        self.actor = APGD(
            victim,
            budget,
            eps=eps,
            norm=norm,
            objective="direction",
            steps=check_int("steps", steps, low=1),
            restarts=1,
            item_embeddings=item_embeddings,
            embedding_slice=embedding_slice,
            clip_range=clip_range,
            seed=seed,
        )
        super().__init__(self.actor.budget, embedding_slice=embedding_slice, clip_range=clip_range, seed=seed)
        self.item_embeddings = self.actor.item_embeddings
        self._embeddings_given = item_embeddings is not None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(eps={self.budget.eps}, norm={self.budget.norm!r}, steps={self.actor.steps})"

    def bind(self, observation_space: spaces.Space, embedding_slice: slice | None, item_embeddings: Any = None) -> None:
        super().bind(observation_space, embedding_slice, item_embeddings)
        self.actor.bind(observation_space, self.embedding_slice, item_embeddings)
        self.item_embeddings = self.actor.item_embeddings

    def reseed(self, seed: Any) -> None:
        super().reseed(seed)
        self.actor.reseed(seed)

    def _obs_dim(self) -> int | None:
        return self.actor._obs_dim() if hasattr(self, "actor") else None

    @property
    def positions(self) -> int:
        space = getattr(self.actor.policy, "action_space", None)
        return len(space.nvec) if isinstance(space, spaces.MultiDiscrete) else 1

    @property
    def director_dim(self) -> int:
        """Size of the director's action: one embedding-sized direction per slate position."""
        emb = self.item_embeddings
        if emb is None:
            raise ValueError("PAAD needs the item embeddings: pass item_embeddings=... or bind it to an AdvRec env.")
        return self.positions * emb.shape[1]

    def realise(self, obs: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """The perturbed observations (n, obs_dim) that move the victim's policy along ``directions``.

        Args:
            obs: clean observations (n, obs_dim).
            directions: the director's actions (n, positions * dim), clipped to [-1, 1], added to the
                prior direction (``prior=True``) and normalised per position (without the prior, a zero
                direction stays zero: that row is not moved).
        """
        x, single = self._check_obs(obs)
        a = np.asarray(directions, dtype=np.float32)
        if a.size != len(x) * self.director_dim:
            raise ValueError(f"directions must have shape ({len(x)}, {self.director_dim}), got shape {a.shape}.")
        if not np.all(np.isfinite(a)):
            raise ValueError("directions must be finite: they contain NaN or inf.")
        out = x.copy()
        if self.budget.eps > 0.0 and len(x):
            sl = self._slice(x.shape[1])
            u = torch.as_tensor(np.clip(a.reshape(len(x), self.positions, -1), -1.0, 1.0), device=self.actor.device)
            if self.prior:
                u = u + self.prior_direction(x)
            u = u / u.norm(dim=2, keepdim=True).clamp(min=1e-12)
            out[:, sl] = self.actor._attack(x, sl, directions=u)
        return out[0] if single else out

    def prior_direction(self, obs: np.ndarray) -> torch.Tensor:
        """``-sqrt(dim) * E_pi0[e] / |E_pi0[e]|`` (n, positions, dim): away from what the clean policy shows."""
        view = self.actor.victim_view()
        with self.actor._frozen, torch.no_grad():
            mean = view.expected_embedding(view.log_probs(torch.as_tensor(obs, device=self.actor.device)))
        return -(mean.shape[2] ** 0.5) * mean / mean.norm(dim=2, keepdim=True).clamp(min=1e-12)

    def _perturb_slice(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        if self.director is None:
            raise ValueError("This PAAD has no director yet: train one, or call realise(obs, directions).")
        directions, _ = self.director.predict(obs, deterministic=self.deterministic)
        return self.realise(obs, np.asarray(directions).reshape(len(obs), -1))[:, sl]
