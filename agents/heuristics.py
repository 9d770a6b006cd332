"""Training-free recommenders that read only the observation: what RL has to beat on AdvRec-v1.

:class:`NearestNeighbour` scores every item by its embedding's similarity to what the user liked, with
a fatigue penalty for near-repeats of what was just shown (the v0 heuristic that scored at PPO's
level), optionally steering away from what the user regretted and skipped, and away from texts that
read like clickbait (a zero-shot probe: the direction in which the language model moves a text when it
is written as clickbait, from a few generic sentences of no topic, never from the catalogue's labels).
Its weights are chosen by grid search on training users (``benchmarks/v1_dynamics.py``).

**What attacks see.** Its scores are piecewise linear in the observation, so, like LinUCB, it offers
the query-only attack its scores (``action_scores``) and the white-box attacks a torch view of them
(``gradient_policy``): both a softmax over the sharpened scores (:mod:`agents.score_views`), whose
argmax is the item it shows. The numpy and torch scores are one code path (:func:`_scores`).
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from advrec_gym import kernel as K
from advrec_gym._validation import check_float
from advrec_gym.catalogue import Catalogue
from agents.score_views import argmax_distribution, sharpened

#: generic sentences for the zero-shot clickbait probe (no topic, no catalogue text)
CLICKBAIT_PROBES = (
    "You won't believe what happened next! The shocking truth everyone is talking about.",
    "This viral video will leave you speechless - click before it gets taken down!",
    "10 jaw-dropping facts that will blow your mind. Number 7 is insane!",
)
NEUTRAL_PROBES = (
    "A careful, well-researched account of the subject.",
    "An informative and balanced introduction to the topic.",
    "A detailed study written with care and accuracy.",
)


def clickbait_direction(encoder) -> np.ndarray:
    """Unit vector from the neutral probes' mean embedding to the clickbait probes' (zero-shot, no labels)."""
    bait = encoder.encode(list(CLICKBAIT_PROBES)).mean(axis=0)
    plain = encoder.encode(list(NEUTRAL_PROBES)).mean(axis=0)
    d = bait - plain
    return (d / np.linalg.norm(d)).astype(np.float32)


#: the heuristics' weights, chosen by grid search on training users (benchmarks/v1_dynamics.py, tuned.json):
#: the plain heuristic's best, and the best of the settings that use the clickbait probe
TUNED = {
    "nearest-neighbour": {"fatigue_weight": 2.0},
    "nn-filter": {"fatigue_weight": 2.0, "skip_weight": 0.5, "probe": True, "clickbait_weight": 0.5},
}


def _scores(obs, embeddings, item_prior, dim: int, f: float, r: float, s: float):
    """The heuristic's scores (batch, num_items) for numpy arrays or torch tensors alike."""
    blocks = obs[:, : K.NUM_BLOCKS * dim].reshape(len(obs), K.NUM_BLOCKS, dim)
    query = blocks[:, K.LIKED] - r * blocks[:, K.REGRETTED] - s * blocks[:, K.SKIPPED]
    scores = query @ embeddings.T + item_prior
    if f:
        shown = blocks[:, K.SHOWN] @ embeddings.T - 0.5
        over = shown.clamp(min=0.0) if isinstance(shown, torch.Tensor) else np.maximum(shown, 0.0)
        scores = scores - f * over / 0.5
    return scores


class NearestNeighbour:
    """Greedy: ``<liked - r*regretted - s*skipped, e_i> - f*fatigue_i - c*<e_i, clickbait> + w*log pop_i``.

    Args:
        catalogue: the items (their embeddings as the recommender sees them, and the popularity prior).
        fatigue_weight: ``f``, weight of ``max(0, <shown, e_i> - 0.5) / 0.5`` (the env's fatigue shape).
        regret_weight: ``r``; skip_weight: ``s`` (>= 0).
        clickbait: a unit direction (:func:`clickbait_direction`) and ``clickbait_weight`` ``c``.
        popularity_weight: ``w``, breaks ties (the empty history of a new user) toward popular items.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        fatigue_weight: float = 1.0,
        regret_weight: float = 0.0,
        skip_weight: float = 0.0,
        clickbait: np.ndarray | None = None,
        clickbait_weight: float = 0.0,
        popularity_weight: float = 0.01,
        slate_size: int = 1,
    ):
        self.embeddings = catalogue.embeddings
        self.dim = catalogue.dim
        self.f = check_float("fatigue_weight", fatigue_weight, low=0.0)
        self.r = check_float("regret_weight", regret_weight, low=0.0)
        self.s = check_float("skip_weight", skip_weight, low=0.0)
        self.c = check_float("clickbait_weight", clickbait_weight, low=0.0)
        self.w = check_float("popularity_weight", popularity_weight, low=0.0)
        self.item_prior = self.w * np.log(np.maximum(catalogue.popularity, 1e-12)).astype(np.float32)
        if clickbait is not None and self.c > 0:
            self.item_prior = self.item_prior - self.c * (catalogue.embeddings @ np.asarray(clickbait, np.float32))
        self.slate_size = slate_size

    def scores(self, observation) -> np.ndarray:
        """Per-item scores (batch, num_items) of a batch of observations."""
        obs = np.asarray(observation, dtype=np.float32)
        obs = obs[None] if obs.ndim == 1 else obs
        return _scores(obs, self.embeddings, self.item_prior, self.dim, self.f, self.r, self.s)

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = True):
        """The top-scoring item(s); the same in both modes (the heuristic is greedy)."""
        single = np.asarray(observation).ndim == 1
        scores = self.scores(observation)
        k = self.slate_size
        if k == 1:
            actions = scores.argmax(axis=1).astype(np.int64)
        else:
            actions = np.argsort(-scores, axis=1)[:, :k].astype(np.int64)
        return (actions[0] if single else actions), state

    # ------------------------------------------------------------------ what attacks see
    #: scores, and through :attr:`gradient_policy` a differentiable stand-in for the argmax (no critic)
    attack_surface = frozenset({"scores", "distribution"})

    def action_scores(self, observation: np.ndarray) -> np.ndarray:
        """Scores whose softmax stands for the argmax (:mod:`agents.score_views`); their argmax is :meth:`predict`'s."""
        return sharpened(self.scores(observation))

    @property
    def gradient_policy(self) -> nn.Module:
        """A torch view for white-box attacks: ``get_distribution(obs)`` over :meth:`action_scores`' logits."""
        return _NearestNeighbourTorchView(self)


class _NearestNeighbourTorchView(nn.Module):
    """The heuristic's scores as an SB3-style torch policy, differentiable in the observation (no parameters)."""

    def __init__(self, heuristic: NearestNeighbour):
        super().__init__()
        self.dim, self.slate_size = heuristic.dim, heuristic.slate_size
        self.weights = (heuristic.f, heuristic.r, heuristic.s)
        self.register_buffer("embeddings", torch.tensor(heuristic.embeddings, dtype=torch.float32))
        self.register_buffer("item_prior", torch.tensor(heuristic.item_prior, dtype=torch.float32))
        n = len(heuristic.embeddings)
        self.action_space = spaces.Discrete(n) if self.slate_size == 1 else spaces.MultiDiscrete([n] * self.slate_size)

    @property
    def item_embeddings(self) -> torch.Tensor:
        return self.embeddings

    def scores(self, obs: torch.Tensor) -> torch.Tensor:
        f, r, s = self.weights
        return _scores(obs, self.embeddings.to(obs.dtype), self.item_prior.to(obs.dtype), self.dim, f, r, s)

    def get_distribution(self, obs: torch.Tensor):
        return argmax_distribution(self.scores(obs), self.slate_size)
