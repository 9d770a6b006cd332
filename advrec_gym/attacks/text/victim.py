"""The recommender as a text attacker sees it: a scorer of items from their embeddings.

The recommenders a text attack applies to rank the catalogue by a score that is linear in the item's
embedding for a given observation, ``score_i(o) = <q(o), e_i> + b_i``: the PPO item-embedding policy
(``q = W f(o) / temperature``, its learned per-item bias ``b``; its action probabilities are the
softmax of the scores) and the supervised two-tower click model (``q`` = the user tower, one shared
bias; sampled from the softmax of ``score / temperature``). An attacker that rewrites item ``i``'s
text changes ``e_i`` and nothing else.

:class:`LinearItemScorer` is that view. A **black-box** attacker only calls :meth:`~LinearItemScorer.scores`
("what would the recommender score these items, embedded so, for these users?"), counted in
``queries``; a **white-box** attacker also reads :meth:`~LinearItemScorer.torch_queries` to
differentiate through the encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


class LinearItemScorer:
    """``score(o, i) = <q(o), e_i> + bias_i`` for a recommender whose query is ``q``.

    Args:
        queries: observations (n, obs_dim) tensor -> query vectors (n, dim) tensor (differentiable
            or not; called under ``no_grad`` for black-box queries).
        bias: per-item bias, (num_items,).
        device: where ``queries`` runs.
    """

    def __init__(self, queries: Callable[[torch.Tensor], torch.Tensor], bias: np.ndarray, device: Any = "cpu"):
        self._queries = queries
        self.bias = np.asarray(bias, dtype=np.float64)
        self.device = torch.device(device)
        self.queries = 0

    @property
    def num_items(self) -> int:
        return int(self.bias.shape[0])

    def torch_queries(self, obs: np.ndarray) -> torch.Tensor:
        """Query vectors (n, dim) as a float32 tensor (white-box access)."""
        with torch.no_grad():
            return self._queries(torch.as_tensor(np.asarray(obs, dtype=np.float32), device=self.device)).float()

    def scores(self, obs: np.ndarray, embeddings: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The recommender's scores (n, m) of items ``rows`` (m,) were their embeddings ``embeddings`` (m, dim).

        One call is one query of the recommender (counted in ``queries``).
        """
        rows = np.asarray(rows, dtype=np.int64)
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] != rows.shape[0]:
            raise ValueError(f"embeddings must have one row per entry of rows ({rows.shape[0]}), got {emb.shape}.")
        self.queries += 1
        q = self.torch_queries(obs).cpu().numpy().astype(np.float64)
        return q @ emb.T.astype(np.float64) + self.bias[rows]


def policy_scorer(model: Any) -> LinearItemScorer:
    """The scorer of an SB3 PPO (or policy) with the item-embedding head (``agents.policies.ItemEmbeddingPolicy``).

    Its logits are ``<W f(o), e_i> / temperature + b_i``; the scores are the logits, so their
    softmax is the policy's action distribution.

    Raises:
        TypeError: the policy has no item-embedding head, or shows a slate (one query per position).
    """
    policy = getattr(model, "policy", model)
    head = getattr(policy, "action_net", None)
    if head is None or not all(hasattr(head, a) for a in ("query", "item_embeddings", "bias", "temperature")):
        raise TypeError(
            "policy_scorer needs a recommender with the item-embedding head (agents.policies.ItemEmbeddingPolicy): "
            f"its scores must be linear in the item embeddings; got {type(policy).__name__}."
        )
    if getattr(head, "slate_size", 1) != 1:
        raise TypeError(f"policy_scorer supports slate_size 1, got a policy with slate_size={head.slate_size}.")

    def queries(obs: torch.Tensor) -> torch.Tensor:
        was_training = policy.training
        policy.eval()
        try:
            features = policy.extract_features(obs, policy.pi_features_extractor)
            latent = policy.mlp_extractor.forward_actor(features)
            return head.query(latent) / head.temperature
        finally:
            policy.train(was_training)

    bias = head.bias.detach().cpu().numpy()
    return LinearItemScorer(queries, bias, device=head.item_embeddings.device)
