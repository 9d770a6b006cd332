"""How attacks see a policy that shows its top-scoring items: a softmax over its scores, sharpened.

LinUCB and the nearest-neighbour heuristic act by argmax over per-item scores that are differentiable
in the observation. The white-box attacks need an action distribution, and the query-only attack
scores whose softmax is what the policy does (:class:`advrec_gym.attacks.ScoredPolicy`): both get
the scores over :data:`ATTACK_TEMPERATURE` times their per-row standard deviation. The argmax is
unchanged (it is the item the policy shows) and the scale is free: the top item's softmax weight
depends on how far it stands out, not on the units of the scores.
"""

from __future__ import annotations

import numpy as np
import torch

#: sharpness of the softmax that stands for an argmax policy in attacks (see the module doc)
ATTACK_TEMPERATURE = 0.1


def sharpened(scores):
    """``scores`` (batch, num_items), numpy or torch, over ``ATTACK_TEMPERATURE`` x their per-row std."""
    if isinstance(scores, torch.Tensor):
        return scores / (ATTACK_TEMPERATURE * scores.std(dim=1, keepdim=True, correction=0).clamp(min=1e-12))
    return scores / (ATTACK_TEMPERATURE * np.maximum(scores.std(axis=1, keepdims=True), 1e-12))


def argmax_distribution(scores: torch.Tensor, slate_size: int):
    """SB3's distribution over the items (a slate: every position the same logits) for an argmax policy's scores."""
    from stable_baselines3.common.distributions import CategoricalDistribution, MultiCategoricalDistribution

    logits = sharpened(scores).float()
    n = logits.shape[1]
    if slate_size == 1:
        return CategoricalDistribution(n).proba_distribution(logits)
    # a slate is the top items of one score: every position sees the same logits
    dist = MultiCategoricalDistribution([n] * slate_size)
    return dist.proba_distribution(logits.repeat(1, slate_size))
