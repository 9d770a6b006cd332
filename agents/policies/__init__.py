"""Recommender policies for SB3's PPO: the item-embedding actor-critic (the default) and ``MlpPolicy``."""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.policies import ActorCriticPolicy

from advrec_gym._validation import check_choice
from agents.policies.clean_critic import CleanCriticItemEmbeddingPolicy, CleanCriticMlpPolicy, SplitMlpExtractor
from agents.policies.item_embedding import ItemEmbeddingPolicy, ItemScoringHead

POLICIES = ("item_embedding", "mlp")


def policy_class_and_kwargs(
    name: str,
    item_embeddings: np.ndarray,
    *,
    net_arch: list[int] | None = None,
    temperature: float = 0.1,
    clean_critic: bool = False,
) -> tuple[type[ActorCriticPolicy], dict[str, Any]]:
    """The SB3 policy class and ``policy_kwargs`` of the recommender called ``name``.

    Args:
        name: ``"item_embedding"`` or ``"mlp"``.
        item_embeddings: the catalogue's embeddings (used by ``"item_embedding"``).
        net_arch: hidden layers of the actor and of the critic.
        temperature: the item-embedding logits' temperature.
        clean_critic: the variant whose critic reads a clean copy of the observation
            (see :mod:`agents.policies.clean_critic`).
    """
    check_choice("policy", name, POLICIES)
    kwargs: dict[str, Any] = {"net_arch": list(net_arch if net_arch is not None else [256])}
    if name == "mlp":
        return (CleanCriticMlpPolicy if clean_critic else ActorCriticPolicy), kwargs
    kwargs.update(item_embeddings=np.asarray(item_embeddings, dtype=np.float32), temperature=temperature)
    return (CleanCriticItemEmbeddingPolicy if clean_critic else ItemEmbeddingPolicy), kwargs


__all__ = [
    "POLICIES",
    "CleanCriticItemEmbeddingPolicy",
    "CleanCriticMlpPolicy",
    "ItemEmbeddingPolicy",
    "ItemScoringHead",
    "SplitMlpExtractor",
    "policy_class_and_kwargs",
]
