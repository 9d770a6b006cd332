"""What a promotion attack maximises and what it is scored by: the targets' share of the recommendations.

For probe users with observations ``o_u`` and recommender scores ``s_ui`` (:mod:`.victim`), the
recommender's distribution over items is ``p_ui = softmax_i(s_ui)`` (the PPO policy's own; the click
model's sampled policy). For a target ``t`` embedded as ``e`` and every other item unchanged,

    p_ut(e) = sigmoid(<q_u, e> + b_t - log sum_{j != t} exp(s_uj)),

so one target's **mass** (mean over users of ``p_ut``) costs one query per batch of candidate
embeddings, and its gradient in ``e`` is analytic. Reported, with every edit applied together:

* ``mass``: mean over users of the summed probability of all targets (what a sampled policy shows);
* ``exposure@k``: share of users for whom some target is among the ``k`` highest scores.
"""

from __future__ import annotations

import numpy as np
import torch

from advrec_gym.attacks.text.victim import LinearItemScorer


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


class PromotionObjective:
    """The promotion objective over fixed probe observations.

    Args:
        scorer: the recommender's scorer.
        observations: probe observations (n, obs_dim) (the attacker's sample of users; evaluation
            users are different).
        embeddings: the clean catalogue embeddings (num_items, dim), as the recommender sees them.
        targets: the attacked rows.
        k: the cut-off of exposure@k.
    """

    def __init__(
        self, scorer: LinearItemScorer, observations: np.ndarray, embeddings: np.ndarray, targets, k: int = 10
    ):
        self.scorer, self.obs, self.k = scorer, np.asarray(observations, dtype=np.float32), int(k)
        self.targets = np.asarray(targets, dtype=np.int64)
        n_items = embeddings.shape[0]
        self.base = scorer.scores(self.obs, embeddings, np.arange(n_items))  # (n, N): one query
        self._log_rest = {}
        for t in self.targets:  # the other targets stay at their clean scores while one is optimised
            others = self.base.copy()
            others[:, t] = -np.inf
            self._log_rest[int(t)] = _logsumexp(others, axis=1)
        self._q = None

    def target_mass(self, row: int, candidates: np.ndarray) -> np.ndarray:
        """Mean probability (over probe users) of ``row`` for each candidate embedding (C, dim): (C,). One query."""
        s = self.scorer.scores(self.obs, candidates, np.full(len(candidates), row))  # (n, C)
        z = s - self._log_rest[int(row)][:, None]
        return (1.0 / (1.0 + np.exp(-z))).mean(axis=0)

    def torch_target_mass(self, row: int, embedding: torch.Tensor) -> torch.Tensor:
        """The same for one differentiable embedding (dim,) (white-box; needs the scorer's queries)."""
        if self._q is None:
            self._q = self.scorer.torch_queries(self.obs).double()
        q = self._q.to(embedding.device)
        z = (
            q @ embedding.double()
            + float(self.scorer.bias[row])
            - torch.as_tensor(self._log_rest[int(row)], device=q.device)
        )
        return torch.sigmoid(z).mean()

    def report(self, embeddings: np.ndarray) -> dict[str, float]:
        """``mass`` and ``exposure@k`` with every target embedded as in ``embeddings`` (num_items, dim)."""
        s = self.base.copy()
        s[:, self.targets] = self.scorer.scores(self.obs, embeddings[self.targets], self.targets)
        logp = s - _logsumexp(s, axis=1)[:, None]
        mass = np.exp(logp[:, self.targets]).sum(axis=1)
        kth = -np.partition(-s, self.k - 1, axis=1)[:, self.k - 1]
        in_top = (s[:, self.targets] >= kth[:, None]).any(axis=1)
        return {"mass": float(mass.mean()), f"exposure@{self.k}": float(in_top.mean())}
