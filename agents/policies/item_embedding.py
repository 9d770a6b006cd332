"""The item-embedding actor-critic: action logits scored against the catalogue's text embeddings.

A plain ``MlpPolicy`` over ``Discrete(num_items)`` learns one output row per item from scratch, so it
needs many clicks on every item before it can tell items apart; a prototype of this design stayed at
popularity level with it. Here the actor maps the observation to a query vector in the embedding space
and scores every item by its similarity to the query::

    q = W f(o)                                  (f: the shared MLP, W: a linear map into R^dim)
    logit_i = <q, e_i> / temperature + b_i      (e_i: item i's unit embedding, b_i: a learned bias)

Its size does not grow with the catalogue except for the bias, items with similar texts get similar
scores from the start, and items it never saw can be scored from their embeddings alone
(:meth:`ItemEmbeddingPolicy.set_item_embeddings`). With a slate of ``k`` items the head makes ``k``
queries, one per position, and SB3's ``MultiCategorical`` samples each position from its own logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from advrec_gym._validation import check_float


class ItemScoringHead(nn.Module):
    """``latent -> [<W_j latent, e_i> / temperature + b_i]_{j, i}``, flattened over slate positions ``j``.

    Args:
        latent_dim: size of the actor's latent vector.
        item_embeddings: float tensor (num_items, dim), the catalogue embeddings (kept as a buffer,
            not trained).
        temperature: divides the similarity; smaller makes the initial policy more decisive.
        slate_size: number of queries (one per slate position).
        item_bias: learn a per-item bias ``b_i`` (else ``b = 0``).
    """

    def __init__(
        self,
        latent_dim: int,
        item_embeddings: th.Tensor,
        temperature: float,
        slate_size: int = 1,
        item_bias: bool = True,
    ):
        super().__init__()
        self.temperature = temperature
        self.slate_size = slate_size
        dim = item_embeddings.shape[1]
        self.query = nn.Linear(latent_dim, dim * slate_size)
        self.register_buffer("item_embeddings", item_embeddings.detach().clone().float())
        self.bias = nn.Parameter(th.zeros(item_embeddings.shape[0]), requires_grad=item_bias)

    def forward(self, latent: th.Tensor) -> th.Tensor:
        q = self.query(latent).view(latent.shape[0], self.slate_size, -1)  # (batch, k, dim)
        logits = th.einsum("bkd,nd->bkn", q, self.item_embeddings) / self.temperature + self.bias
        return logits.reshape(latent.shape[0], -1)


class ItemEmbeddingPolicy(ActorCriticPolicy):
    """SB3 actor-critic whose actor scores the catalogue's items by their embeddings.

    Use it like any SB3 policy class; the catalogue embeddings go in ``policy_kwargs``::

        PPO(ItemEmbeddingPolicy, venv, policy_kwargs={"item_embeddings": catalogue.embeddings})

    Args:
        observation_space: the recommender's observation space.
        action_space: ``Discrete(num_items)`` or ``MultiDiscrete([num_items] * k)``.
        lr_schedule: SB3's learning-rate schedule.
        item_embeddings: array (num_items, dim), one row per item in action order.
        temperature: the logits' temperature (> 0).
        item_bias: learn a per-item bias.
        **kwargs: any other :class:`~stable_baselines3.common.policies.ActorCriticPolicy` argument
            (``net_arch``, ``activation_fn``, ``ortho_init``, ...).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule,
        item_embeddings: np.ndarray | th.Tensor,
        temperature: float = 0.1,
        item_bias: bool = True,
        **kwargs: Any,
    ):
        emb = th.as_tensor(np.array(item_embeddings, dtype=np.float32))
        if emb.ndim != 2:
            raise ValueError(f"item_embeddings must have shape (num_items, dim), got {tuple(emb.shape)}.")
        num_items, slate_size = _catalogue_shape(action_space)
        if emb.shape[0] != num_items:
            raise ValueError(
                f"item_embeddings must have one row per item of the action space ({num_items}), "
                f"got {emb.shape[0]} rows."
            )
        self.item_embeddings_init = emb
        self.temperature = check_float("temperature", temperature, low=0.0, low_open=True)
        self.item_bias = bool(item_bias)
        self.slate_size = slate_size
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        self.action_net = ItemScoringHead(
            self.mlp_extractor.latent_dim_pi,
            self.item_embeddings_init,
            self.temperature,
            self.slate_size,
            self.item_bias,
        )
        if self.ortho_init:  # a near-uniform initial policy, as SB3 does for its action net
            self.action_net.query.apply(lambda m: self.init_weights(m, gain=0.01))
        self.action_net.to(self.device)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            item_embeddings=self.action_net.item_embeddings.cpu().numpy(),
            temperature=self.temperature,
            item_bias=self.item_bias,
        )
        return data

    def set_item_embeddings(self, item_embeddings: np.ndarray | th.Tensor, item_bias: np.ndarray | None = None) -> None:
        """Score a different catalogue: replace the embeddings (and the biases) for evaluation.

        Items are scored from their embeddings alone, so a policy trained on one catalogue can rank
        the items of another with the same encoder. The new biases default to zero. The optimizer
        still refers to the old bias: build a new model to train on the new catalogue.

        Args:
            item_embeddings: array (num_items, dim) with the encoder's ``dim``.
            item_bias: optional array (num_items,) of biases.
        """
        head = self.action_net
        emb = th.as_tensor(np.asarray(item_embeddings, dtype=np.float32), device=head.item_embeddings.device)
        if emb.ndim != 2 or emb.shape[1] != head.item_embeddings.shape[1]:
            raise ValueError(
                f"item_embeddings must have shape (num_items, {head.item_embeddings.shape[1]}), got {tuple(emb.shape)}."
            )
        bias = th.zeros(emb.shape[0]) if item_bias is None else th.as_tensor(np.asarray(item_bias, dtype=np.float32))
        if bias.shape != (emb.shape[0],):
            raise ValueError(f"item_bias must have shape ({emb.shape[0]},), got {tuple(bias.shape)}.")
        head.item_embeddings = emb
        head.bias = nn.Parameter(bias.to(emb.device), requires_grad=self.item_bias)
        n = emb.shape[0]
        if self.slate_size == 1:
            self.action_space = spaces.Discrete(n)
        else:
            self.action_space = spaces.MultiDiscrete(np.full(self.slate_size, n, dtype=np.int64))
        self.action_dist = type(self.action_dist)(
            n if self.slate_size == 1 else list(self.action_space.nvec)  # type: ignore[arg-type]
        )


def _catalogue_shape(action_space: spaces.Space) -> tuple[int, int]:
    """(num_items, slate_size) of an AdvRec action space."""
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n), 1
    if isinstance(action_space, spaces.MultiDiscrete) and action_space.nvec.ndim == 1:
        nvec = action_space.nvec
        if np.all(nvec == nvec[0]):
            return int(nvec[0]), len(nvec)
    raise ValueError(
        f"ItemEmbeddingPolicy needs a Discrete(num_items) or MultiDiscrete([num_items] * k) action space, got {action_space}."
    )
