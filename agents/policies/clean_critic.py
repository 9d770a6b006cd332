"""Actor-critics whose critic reads the clean observation while the actor reads the attacked one.

During adversarial training the defender knows the true state: the critic, used only to estimate
advantages while training, may read it. The observation is then ``[o_seen | o_clean]``, twice the
env's size (built by :class:`agents.defences.CleanObservationCopy`, with the attack applied to the
first half only); the actor reads the first half and the critic the second. At deployment the critic
is not used, so the second half can be anything (evaluation passes a second clean copy).
"""

from __future__ import annotations

import torch as th
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import MlpExtractor

from agents.policies.item_embedding import ItemEmbeddingPolicy


class SplitMlpExtractor(MlpExtractor):
    """SB3's ``MlpExtractor`` over half the features each: the actor's first half, the critic's second."""

    def __init__(self, feature_dim: int, **kwargs):
        if feature_dim % 2:
            raise ValueError(f"A clean-critic observation has two equal halves, got {feature_dim} features.")
        self.half = feature_dim // 2
        super().__init__(self.half, **kwargs)

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        return self.policy_net(features[..., : self.half])

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        return self.value_net(features[..., self.half :])


class _CleanCriticMixin:
    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = SplitMlpExtractor(
            self.features_dim,  # type: ignore[attr-defined]
            net_arch=self.net_arch,  # type: ignore[attr-defined]
            activation_fn=self.activation_fn,  # type: ignore[attr-defined]
            device=self.device,  # type: ignore[attr-defined]
        )


class CleanCriticMlpPolicy(_CleanCriticMixin, ActorCriticPolicy):
    """SB3's ``MlpPolicy`` on ``[o_seen | o_clean]``: the actor reads ``o_seen``, the critic ``o_clean``."""


class CleanCriticItemEmbeddingPolicy(_CleanCriticMixin, ItemEmbeddingPolicy):
    """:class:`ItemEmbeddingPolicy` on ``[o_seen | o_clean]``: the actor reads ``o_seen``, the critic ``o_clean``."""
